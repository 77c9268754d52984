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
// for the REST API), /keys, /oidc/logout, and the REST API (bearer token from
// client_credentials; Scalekit's JSON shapes): GET /api/v1/users/{id},
// GET /api/v1/organizations/{id}, GET /api/v1/sessions/{session_id},
// POST /api/v1/sessions/{session_id}/revoke, GET /api/v1/users/{user_id}/sessions
// (filter.status, page_size, page_token) and
// POST /api/v1/users/{user_id}/sessions/revoke. Revoking a session ends it:
// its refresh tokens answer invalid_grant. Besides: GET /debug/counters
// (GrantCounts as JSON), /static/style.css, and the admin page. Tokens have
// Scalekit's shapes: the ID token's aud is an array, with azp, client_id, amr
// (the connection id for enterprise SSO, the social provider's name, else
// "otp") and at_hash; the access token carries oid, sid, roles, permissions,
// and xoid and xuid when the organization or user has an external id;
// Config.AccessTokenClaims adds custom claims, as Scalekit's Token Claims
// page does (given_name from user.given_name, for one).
//
// Two endpoints simulate what Scalekit starts rather than the app, and send
// the browser to the client's InitiateLoginURI:
//
//   - GET /dev/idp-initiated-login?organization_id=&connection_id=&login_hint=&relay_state=
//     signs an idp_initiated_login token, as a sign-in from the organization's
//     identity provider does (without parameters: a page of links, one per
//     member of each organization). A login_hint naming a member also counts
//     as signed in at that identity provider: the authorize request with
//     its connection_id then completes without a page.
//   - GET /dev/invite?email=&organization_id= invites the person (a pending
//     member, PENDING_INVITE in the REST API) and adds invitation_token,
//     organization_id and login_hint (names of our choosing: Scalekit's
//     documentation does not name its invitation parameters).
//
// # The admin page and webhooks
//
// <issuer>/dev/admin lists users with their memberships and roles, live
// sessions and organizations, with buttons to end a session, change a role
// (admin or member), remove a membership and delete an organization; the
// same actions are methods (EndSession, SetRoles, RemoveMembership,
// DeleteOrganization). Its forms are refused when a browser says they come
// from another origin. With Config.WebhookURL set, the provider sends the
// webhooks Scalekit sends, signed with Config.WebhookSecret: user.logout when
// a session ends (RP-initiated logout, EndSession, the admin page, the
// API), user.organization_membership_created, _updated and _deleted,
// organization.deleted. Deliveries run in the background and are retried;
// Close stops them.
//
// # Seed data
//
// Organizations org_acme "Acme Inc" (external id crm-acme-0042; SSO
// connection conn_acme_okta, "Okta") and org_globex "Globex Corp" (connection
// conn_globex_entra, "Microsoft Entra ID"); roles "admin" (permissions
// org:read, org:write, members:manage) and "member" (org:read). Users:
//
//	usr_alice  alice@acme.test    Alice Admin       org_acme admin, org_globex member; external id crm-user-0007
//	usr_bob    bob@acme.test      Bob Member        org_acme member
//	usr_carol  carol@globex.test  Carol Unverified  org_globex member; email_verified false
//
// # The hosted pages
//
// The login page, headed "Sign in to Scalekit (development)", has one button
// per seeded user ("Continue as Alice Admin (alice@acme.test)"), an "Email"
// field with a "Continue" button, a "Create an account" link, a "Simulate
// sign-in from your company's identity provider" link and a "Cancel" button,
// which returns error=access_denied. prompt=create shows "Create your
// account" with "Name" and "Email" fields and a "Create account" button.
// provider=google (microsoft, github, gitlab, linkedin, salesforce) shows
// "Continue with Google (simulated)" with an "Email" field; another provider
// is an invalid_request. An invitation_token shows "Join <organization>" with
// an "Accept invitation" button. login_hint fills in the email. An email that
// no one has becomes a new verified user (usr_ + 17 digits) who joins the
// requested organization_id, if it exists, or else org_acme, as a "member". A
// user of several organizations, when the request has no organization_id,
// chooses one on a "Choose an organization" page (one button per organization
// name). A requested organization that the user is not an active member of,
// or that does not exist, returns error=invalid_organization_id; an unknown
// connection_id, error=invalid_connection_id.
//
// A browser has one provider session (ses_ + 17 digits), the sid of every
// token it issues, named by the provider's own HttpOnly cookie
// (devidp_session). The same user signing in again to the same client in
// that browser (again on the page, silently, in another organization) goes
// on in it; another user's sign-in ends it, as a logout does, and starts a
// new one. With that cookie, prompt=none signs in without a
// page (without it: error=login_required), and prompt=select_account switches
// to organization_id at once or shows the organization page. /oidc/logout
// ends the cookie's session and clears it. Every other request shows the
// login page.
//
// # Environment
//
// The package reads no variables. The server (cmd/bff, when
// SCALEKIT_ENVIRONMENT_URL is unset) and the provider on its own
// (cmd/devidp) build its Config from the DEV_IDP_* variables that the config
// package reads (config.DevIDP, config.LoadDevIDP).
package devidp
