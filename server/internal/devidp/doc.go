// Package devidp is a Scalekit-compatible OpenID Provider for development
// and tests: an http.Handler with in-memory state, a hosted login page with
// test users, authorization codes with PKCE, rotating refresh tokens with
// reuse detection, RP-initiated logout and back-channel logout. It never
// belongs in production: anyone who reaches it can sign in as anyone.
//
// Start one in a test like this:
//
//	srv := httptest.NewUnstartedServer(nil)
//	idp, err := devidp.New(devidp.Config{
//		Issuer: "http://" + srv.Listener.Addr().String(),
//		Clients: []devidp.Client{{
//			ID:           "app",
//			Secret:       "app-secret",
//			RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"},
//		}},
//		AccessTokenTTL: 2 * time.Second, // make the relying party refresh
//	})
//	if err != nil {
//		t.Fatal(err)
//	}
//	srv.Config.Handler = idp
//	srv.Start()
//	defer srv.Close()
//	// Point the relying party at idp.Issuer(); read idp.GrantCounts().
//
// Endpoints, under the issuer's URL (and path, if it has one), are
// Scalekit's: /.well-known/openid-configuration, /oauth/authorize,
// /oauth/token (authorization_code, refresh_token, and client_credentials
// for the REST API), /keys, /oidc/logout, the REST API's
// GET /api/v1/users/{id} and GET /api/v1/organizations/{id} (bearer token from
// client_credentials; Scalekit's JSON shapes), plus GET /debug/counters
// (GrantCounts as JSON) and /static/style.css.
//
// # Seed data
//
// Organizations org_acme "Acme Inc" and org_globex "Globex Corp"; roles
// "admin" (permissions org:read, org:write, members:manage) and "member"
// (org:read). Users:
//
//	usr_alice  alice@acme.test    Alice Admin       org_acme admin, org_globex member
//	usr_bob    bob@acme.test      Bob Member        org_acme member
//	usr_carol  carol@globex.test  Carol Unverified  org_globex member; email_verified false
//
// # The hosted pages
//
// The provider keeps no browser session: every authorize request shows the
// login page (prompt=none answers login_required). The login page, headed
// "Sign in to Scalekit (development)", has one button per seeded user
// ("Continue as Alice Admin (alice@acme.test)"), an "Email" field with a
// "Continue" button, a "Create an account" link and a "Cancel" button, which
// returns error=access_denied. prompt=create shows "Create your account"
// with "Name" and "Email" fields and a "Create account" button. login_hint
// fills in the email. An email that no one has becomes a new verified user
// (usr_ + 17 digits) who joins the requested organization_id, if it exists,
// or else org_acme, as a "member". A user of several organizations, when the
// request has no organization_id, chooses one on a "Choose an organization"
// page (one button per organization name); a requested organization that the
// user is not a member of returns error=access_denied. Each login starts a
// provider session (ses_ + 17 digits), the sid of every token it issues.
//
// # Environment
//
// OptionsFromEnv reads DEV_IDP_ADDR (default 127.0.0.1:8081),
// DEV_IDP_ALLOW_NON_LOOPBACK ("true" to allow), DEV_IDP_ISSUER (default
// http:// and the address, with an unspecified host shown as localhost),
// DEV_IDP_ACCESS_TOKEN_TTL, DEV_IDP_ID_TOKEN_TTL, DEV_IDP_REFRESH_TOKEN_TTL,
// DEV_IDP_CLIENT_ID (default dev-client), DEV_IDP_CLIENT_SECRET (default
// dev-secret), DEV_IDP_REDIRECT_URIS (comma-separated; default
// http://localhost:8080/auth/callback), DEV_IDP_POST_LOGOUT_REDIRECT_URIS
// (default http://localhost:8080/) and DEV_IDP_BACKCHANNEL_LOGOUT_URI.
package devidp
