package scalekit

import (
	"context"
	"fmt"
)

// Organization is an organization of the environment, as its REST API
// returns it (GET /api/v1/organizations/{id}).
type Organization struct {
	ID          string
	DisplayName string
	ExternalID  string // the customer's own id for it, when set
}

// DirectoryUser is a user of the environment with their organization
// memberships, as the REST API returns it (GET /api/v1/users/{id}).
type DirectoryUser struct {
	ID          string
	Email       string
	ExternalID  string // the customer's own id for the user, when set
	Memberships []Membership
}

// Membership is a user's place in an organization.
type Membership struct {
	OrganizationID string
	// Name and DisplayName are the organization's; Scalekit sends both.
	Name        string
	DisplayName string
	// Status is ACTIVE, INACTIVE, PENDING_INVITE or INVITE_EXPIRED.
	Status string
	Roles  []string // role names
}

// Active reports whether the membership lets the user sign in to the
// organization now.
func (m Membership) Active() bool { return m.Status == "ACTIVE" }

// The JSON shapes below are Scalekit's (scalekit-inc/developer-docs,
// openapi/components/schemas: organizationsOrganization.yaml, usersUser.yaml,
// commonsOrganizationMembership.yaml, commonsRole.yaml): snake_case, each
// object wrapped in a member named after it.

type organizationJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	ExternalID  string `json:"external_id"`
}

type userJSON struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	ExternalID  string `json:"external_id"`
	Memberships []struct {
		OrganizationID string `json:"organization_id"`
		Name           string `json:"name"`
		DisplayName    string `json:"display_name"`
		Status         string `json:"membership_status"`
		Roles          []struct {
			Name string `json:"name"`
		} `json:"roles"`
	} `json:"memberships"`
}

// GetOrganization reads an organization. Errors: ErrNotFound, ErrUnavailable,
// *RefusedError (our credentials), *APIError.
func (c *OIDCClient) GetOrganization(ctx context.Context, organizationID string) (*Organization, error) {
	if !validID(organizationID, "org_") {
		return nil, fmt.Errorf("get organization %q: %w", organizationID, ErrNotFound)
	}
	var body struct {
		Organization organizationJSON `json:"organization"`
	}
	if err := c.api.do(ctx, "GET", apiPath("/api/v1/organizations/%s", organizationID), &body); err != nil {
		return nil, fmt.Errorf("get organization: %w", err)
	}
	o := body.Organization
	return &Organization{ID: o.ID, DisplayName: o.DisplayName, ExternalID: o.ExternalID}, nil
}

// GetUser reads a user and their memberships. Errors as GetOrganization.
func (c *OIDCClient) GetUser(ctx context.Context, userID string) (*DirectoryUser, error) {
	if !validID(userID, "usr_") {
		return nil, fmt.Errorf("get user %q: %w", userID, ErrNotFound)
	}
	var body struct {
		User userJSON `json:"user"`
	}
	if err := c.api.do(ctx, "GET", apiPath("/api/v1/users/%s", userID), &body); err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	u := body.User
	out := &DirectoryUser{ID: u.ID, Email: u.Email, ExternalID: u.ExternalID}
	for _, m := range u.Memberships {
		roles := make([]string, 0, len(m.Roles))
		for _, r := range m.Roles {
			roles = append(roles, r.Name)
		}
		out.Memberships = append(out.Memberships, Membership{
			OrganizationID: m.OrganizationID, Name: m.Name, DisplayName: m.DisplayName,
			Status: m.Status, Roles: roles,
		})
	}
	return out, nil
}
