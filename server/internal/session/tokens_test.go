package session

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

func TestNewRecord(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	user := scalekit.User{ID: "usr_1", Email: "a@example.com", OrganizationID: "org_id_token"}
	tests := []struct {
		name string
		resp scalekit.AuthenticationResponse
		want Record
	}{
		{
			name: "a JWT access token names the organization, roles and session",
			resp: scalekit.AuthenticationResponse{
				User: user,
				TokenResponse: scalekit.TokenResponse{
					AccessToken: "at", RefreshToken: "rt", IDToken: "it", ExpiresAt: exp, RefreshTokenExpiresAt: exp.Add(time.Hour),
					User: &user,
					Claims: &scalekit.AccessTokenClaims{SessionID: "ses_1", OrganizationID: "org_at", Roles: []string{"admin"},
						Permissions: []string{"read"}, ExternalOrganizationID: "xo", ExternalUserID: "xu"},
				},
			},
			want: Record{
				User:           scalekit.User{ID: "usr_1", Email: "a@example.com", OrganizationID: "org_id_token", SessionID: "ses_1"},
				OrganizationID: "org_at", Roles: []string{"admin"}, Permissions: []string{"read"},
				UserExternalID: "xu", OrganizationExternalID: "xo",
				AccessToken: "at", RefreshToken: "rt", IDToken: "it", AccessTokenExpiresAt: exp, RefreshTokenExpiresAt: exp.Add(time.Hour),
				UserAgent: "Firefox", IP: "192.0.2.1",
			},
		},
		{
			name: "an opaque access token leaves the ID token's organization",
			resp: scalekit.AuthenticationResponse{
				User:          user,
				TokenResponse: scalekit.TokenResponse{AccessToken: "at", ExpiresAt: exp, User: &user},
			},
			want: Record{
				User: user, OrganizationID: "org_id_token", AccessToken: "at", AccessTokenExpiresAt: exp,
				UserAgent: "Firefox", IP: "192.0.2.1",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NewRecord(&tc.resp, "Firefox", "192.0.2.1")
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreUnexported(Record{})); diff != "" {
				t.Errorf("NewRecord mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A refresh answer replaces what it carries and keeps the rest.
func TestApplyTokensKeepsWhatTheAnswerLacks(t *testing.T) {
	rec := Record{
		User:         scalekit.User{ID: "usr_1", SessionID: "ses_1"},
		RefreshToken: "rt_old", IDToken: "it_old", OrganizationID: "org_1",
	}
	rec.applyTokens(&scalekit.TokenResponse{
		AccessToken: "at_new",
		User:        &scalekit.User{ID: "usr_1", Name: "Renamed"},
	})
	want := Record{
		User:         scalekit.User{ID: "usr_1", Name: "Renamed", SessionID: "ses_1"},
		AccessToken:  "at_new",
		RefreshToken: "rt_old", IDToken: "it_old", OrganizationID: "org_1",
	}
	if diff := cmp.Diff(want, rec, cmpopts.IgnoreUnexported(Record{})); diff != "" {
		t.Errorf("applyTokens mismatch (-want +got):\n%s", diff)
	}
}
