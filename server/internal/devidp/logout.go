package devidp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// backchannelLogoutEvent is the event claim of OpenID Connect Back-Channel
// Logout 1.0 §2.4.
const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// idTokenHint is what /oidc/logout reads from an id_token_hint.
type idTokenHint struct {
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	SessionID string   `json:"sid"`
}

// audience is a JWT aud claim: one string or an array of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("aud: want a string or an array of strings: %w", err)
	}
	*a = many
	return nil
}

// handleLogout serves RP-Initiated Logout 1.0: it ends the provider session
// named by the id_token_hint, tells the client over the back channel, and
// returns to post_logout_redirect_uri when the client registered it.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	form, ok := authorizeForm(w, r)
	if !ok {
		s.renderMessage(w, http.StatusBadRequest, "Sign-out request not valid", "The sign-out request could not be read.")
		return
	}
	var hint idTokenHint
	if raw := form.Get("id_token_hint"); raw != "" {
		if err := s.verifyOwnJWT(raw, &hint); err != nil {
			s.log.Warn("logout refused", "reason", "id_token_hint not valid")
			s.renderMessage(w, http.StatusBadRequest, "Sign-out request not valid",
				"The id_token_hint was not issued by this identity provider, so you are still signed in.")
			return
		}
	}
	client, known := s.logoutClient(hint, form.Get("client_id"))
	if hint.SessionID != "" {
		s.endSession(r.Context(), hint.SessionID, hint.Subject, statusLogout, true)
	}
	// The browser's own provider session ends too, so a later prompt=none
	// or organization switch asks it to sign in again.
	if sid := s.forgetBrowser(w, r); sid != "" && sid != hint.SessionID {
		s.endSession(r.Context(), sid, "", statusLogout, true)
	}
	target := form.Get("post_logout_redirect_uri")
	if known && target != "" && slices.Contains(client.PostLogoutRedirectURIs, target) {
		http.Redirect(w, r, appendQuery(target, nil, form.Get("state")), http.StatusFound)
		return
	}
	message := "You have signed out of the development identity provider. You can close this tab."
	if target != "" {
		s.log.Warn("logout: post_logout_redirect_uri not registered", "client_id", client.ID)
		message = "You have signed out. The application's return address is not registered for it, so you stay on this page."
	}
	s.renderMessage(w, http.StatusOK, "You are signed out", message)
}

// logoutClient finds the client from the hint's audience or the client_id
// parameter; when both are given they must agree.
func (s *Server) logoutClient(hint idTokenHint, clientID string) (Client, bool) {
	switch {
	case clientID != "" && len(hint.Audience) > 0 && !slices.Contains(hint.Audience, clientID):
		return Client{}, false
	case clientID == "" && len(hint.Audience) == 1:
		clientID = hint.Audience[0]
	}
	c, ok := s.clients[clientID]
	return c, ok
}

// EndSession ends a provider session as an administrator would: its refresh
// tokens stop working and, when its client has a BackchannelLogoutURI, the
// client receives a logout token before EndSession returns; a user.logout
// webhook follows in the background when webhooks are configured. It reports
// whether the session was active.
func (s *Server) EndSession(ctx context.Context, sid string) bool {
	return s.endSession(ctx, sid, "", statusRevoked, true)
}

// endSession ends the session with status (statusRevoked or statusLogout)
// if it belongs to sub (when sub is given), and tells the client: a
// back-channel logout token, delivered before endSession returns when wait
// (RP-initiated logout, EndSession) or else in the background (the admin
// page and the API, which never wait on the app), and a user.logout webhook.
func (s *Server) endSession(ctx context.Context, sid, sub, status string, wait bool) bool {
	s.mu.Lock()
	if ps, ok := s.sessions[sid]; !ok || (sub != "" && ps.userID != sub) {
		s.mu.Unlock()
		return false
	}
	ps, active := s.endSessionAsLocked(sid, status)
	s.mu.Unlock()
	if !active {
		return false
	}
	s.log.Info("session ended", "status", status, "client_id", ps.clientID, "sub", ps.userID, "sid", ps.id)
	if c := s.clients[ps.clientID]; c.BackchannelLogoutURI != "" && wait {
		s.sendLogoutToken(context.WithoutCancel(ctx), c, ps)
	} else if c.BackchannelLogoutURI != "" {
		s.background(func(ctx context.Context) { s.sendLogoutToken(ctx, c, ps) })
	}
	s.sendLogoutWebhook(ps)
	return true
}

// sendLogoutToken POSTs a logout token (Back-Channel Logout 1.0 §2.4, §2.5).
// Failures are logged: the user is signed out here either way.
func (s *Server) sendLogoutToken(ctx context.Context, c Client, ps providerSession) {
	log := s.log.With("client_id", c.ID, "sid", ps.id)
	token, err := s.logoutToken(c, ps)
	if err != nil {
		log.Error("back-channel logout: sign token", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		log.Error("back-channel logout: build request", "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		log.Warn("back-channel logout: delivery failed", "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		log.Warn("back-channel logout: refused", "status", resp.StatusCode)
		return
	}
	log.Info("back-channel logout delivered", "status", resp.StatusCode)
}

func (s *Server) logoutToken(c Client, ps providerSession) (string, error) {
	signer, err := s.currentKey().newSigner("logout+jwt")
	if err != nil {
		return "", err
	}
	now := s.now()
	return sign(signer, map[string]any{
		"iss": s.issuer, "aud": c.ID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": randomToken(), "sid": ps.id, "sub": ps.userID,
		"events": map[string]any{backchannelLogoutEvent: map[string]any{}},
	})
}
