package devidp

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// tokenClaimFields are the fields a custom access-token claim may read, by
// Scalekit's expression for them (scalekit-inc/developer-docs,
// src/content/docs/authenticate/fsa/session-token-claims.mdx: "User and
// organization fields"), limited to what the built-in provider knows. Each
// returns the value and whether there is one: Scalekit leaves a claim
// without a value out of the token.
var tokenClaimFields = map[string]func(u User, org organization) (any, bool){
	"user.id":                  func(u User, _ organization) (any, bool) { return u.ID, true },
	"user.email":               func(u User, _ organization) (any, bool) { return u.Email, u.Email != "" },
	"user.email_verified":      func(u User, _ organization) (any, bool) { return u.EmailVerified, true },
	"user.name":                func(u User, _ organization) (any, bool) { return u.Name, u.Name != "" },
	"user.given_name":          func(u User, _ organization) (any, bool) { return u.GivenName, u.GivenName != "" },
	"user.family_name":         func(u User, _ organization) (any, bool) { return u.FamilyName, u.FamilyName != "" },
	"user.picture":             func(u User, _ organization) (any, bool) { return u.Picture, u.Picture != "" },
	"user.external_id":         func(u User, _ organization) (any, bool) { return u.ExternalID, u.ExternalID != "" },
	"organization.id":          func(_ User, o organization) (any, bool) { return o.id, o.id != "" },
	"organization.name":        func(_ User, o organization) (any, bool) { return o.name, o.name != "" },
	"organization.external_id": func(_ User, o organization) (any, bool) { return o.externalID, o.externalID != "" },
}

// reservedClaims are the access-token claims Scalekit sets itself (the same
// page's "Reserved claim keys"), and those the built-in provider adds.
var reservedClaims = []string{"sub", "iss", "aud", "exp", "iat", "nbf", "jti", "oid", "sid", "xoid", "xuid", "roles", "permissions", "client_id", "scope"}

func checkTokenClaims(claims map[string]string) error {
	for key, field := range claims {
		if key == "" || slices.Contains(reservedClaims, key) {
			return fmt.Errorf("devidp: AccessTokenClaims: %q is a claim the provider sets itself", key)
		}
		if _, ok := tokenClaimFields[field]; !ok {
			known := make([]string, 0, len(tokenClaimFields))
			for f := range tokenClaimFields {
				known = append(known, f)
			}
			sort.Strings(known)
			return fmt.Errorf("devidp: AccessTokenClaims: %q reads %q; want one of %s", key, field, strings.Join(known, ", "))
		}
	}
	return nil
}

// addTokenClaims adds the custom claims that have a value.
func (s *Server) addTokenClaims(access map[string]any, u User, org organization) {
	for key, field := range s.claims {
		if v, ok := tokenClaimFields[field](u, org); ok {
			access[key] = v
		}
	}
}
