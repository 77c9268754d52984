package web

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/session"
)

type userJSON struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"emailVerified"`
	Name          string `json:"name"`
	GivenName     string `json:"givenName"`
	FamilyName    string `json:"familyName"`
	Picture       string `json:"picture"`
	ExternalID    string `json:"externalId"`
}

type organizationJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ExternalID string `json:"externalId"`
}

type organizationRefJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type sessionInfoJSON struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	sessionEndJSON
}

// sessionEndJSON says when a session ends: expiresAt if it goes unused from
// now, absoluteExpiresAt however much it is used. The SPA shows the absolute
// end and states the idle rule in words, because activity keeps moving
// expiresAt.
type sessionEndJSON struct {
	ExpiresAt          time.Time `json:"expiresAt"`
	AbsoluteExpiresAt  time.Time `json:"absoluteExpiresAt"`
	IdleTimeoutSeconds int64     `json:"idleTimeoutSeconds"`
}

func newSessionEndJSON(ctx context.Context, sessions *session.Manager) sessionEndJSON {
	return sessionEndJSON{
		ExpiresAt:          sessions.Deadline(ctx).UTC(),
		AbsoluteExpiresAt:  sessions.AbsoluteDeadline(ctx).UTC(),
		IdleTimeoutSeconds: int64(sessions.IdleTimeout() / time.Second),
	}
}

type meResponse struct {
	User           userJSON          `json:"user"`
	OrganizationID string            `json:"organizationId"`
	Organization   *organizationJSON `json:"organization"` // null without one
	// Organizations are those the user may switch to; [] when unknown.
	Organizations []organizationRefJSON `json:"organizations"`
	Roles         []string              `json:"roles"`
	Permissions   []string              `json:"permissions"`
	Session       sessionInfoJSON       `json:"session"`
}

func newUserJSON(rec *session.Record) userJSON {
	u := rec.User
	return userJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name,
		GivenName: u.GivenName, FamilyName: u.FamilyName, Picture: u.Picture, ExternalID: rec.UserExternalID}
}

// newOrganizationJSON is the session's organization, named by the directory
// when it could (see session.Manager.SetDirectory), else by its id.
func newOrganizationJSON(rec *session.Record) *organizationJSON {
	if rec.OrganizationID == "" {
		return nil
	}
	return &organizationJSON{ID: rec.OrganizationID, Name: cmp.Or(rec.OrganizationName, rec.OrganizationID), ExternalID: rec.OrganizationExternalID}
}

func newOrganizationsJSON(rec *session.Record) []organizationRefJSON {
	out := make([]organizationRefJSON, 0, len(rec.Organizations))
	for _, o := range rec.Organizations {
		out = append(out, organizationRefJSON{ID: o.ID, Name: o.Name})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// handleMe answers the signed-in user's profile, refreshing the access token
// first when it is due, so roles and permissions are the provider's latest.
func handleMe(sessions *session.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		rec, err := sessions.Fresh(ctx)
		if err != nil {
			return err // 401 or 503, decided in errors.go
		}
		return c.JSON(http.StatusOK, meResponse{
			User:           newUserJSON(rec),
			OrganizationID: rec.OrganizationID,
			Organization:   newOrganizationJSON(rec),
			Organizations:  newOrganizationsJSON(rec),
			Roles:          nonNil(rec.Roles),
			Permissions:    nonNil(rec.Permissions),
			Session:        sessionInfoJSON{ID: rec.PublicID, CreatedAt: rec.CreatedAt.UTC(), sessionEndJSON: newSessionEndJSON(ctx, sessions)},
		})
	}
}

type sessionResponse struct {
	Authenticated bool      `json:"authenticated"`
	User          *userJSON `json:"user,omitempty"`
	*sessionEndJSON
}

// handleSession always answers 200, so the SPA can bootstrap without an
// error. It does not refresh tokens: a provider outage must not make a
// signed-in user look signed out.
func handleSession(sessions *session.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		rec, err := sessions.Current(ctx)
		if err != nil {
			return c.JSON(http.StatusOK, sessionResponse{Authenticated: false})
		}
		u := newUserJSON(rec)
		end := newSessionEndJSON(ctx, sessions)
		return c.JSON(http.StatusOK, sessionResponse{Authenticated: true, User: &u, sessionEndJSON: &end})
	}
}
