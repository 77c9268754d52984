package devidp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The provider sends the webhooks Scalekit sends, shaped like the examples of
// Scalekit's event specification (scalekit-inc/developer-docs,
// openapi/scalekit.yaml, "webhooks"): an envelope with spec_version, id,
// type, object, occurred_at, environment_id, organization_id, data and
// display_name; Standard Webhooks signatures (webhook-id, webhook-timestamp,
// webhook-signature). The specification does not say which header value
// webhook-id carries; the provider uses the event id, which stays the same
// on every retry.

// defaultWebhookRetryDelays follow the first steps of Scalekit's schedule
// (src/content/docs/reference/webhooks/overview.mdx: immediately, then 5 s,
// 30 s, 2 min, 5 min, 15 min); a development provider stops sooner.
var defaultWebhookRetryDelays = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}

type webhookSender struct {
	url    string
	signer *standardwebhooks.Webhook
	delays []time.Duration
}

func newWebhookSender(cfg Config) (*webhookSender, error) {
	if cfg.WebhookURL == "" {
		return nil, nil
	}
	if !isAbsoluteURL(cfg.WebhookURL) {
		return nil, fmt.Errorf("devidp: WebhookURL: want an absolute URL, got %q", cfg.WebhookURL)
	}
	if cfg.WebhookSecret == "" {
		return nil, fmt.Errorf("devidp: WebhookSecret: required with WebhookURL, to sign the webhooks")
	}
	signer, err := standardwebhooks.NewWebhook(cfg.WebhookSecret)
	if err != nil {
		return nil, fmt.Errorf("devidp: WebhookSecret: want whsec_ and base64: %w", err)
	}
	delays := cfg.WebhookRetryDelays
	if delays == nil {
		delays = defaultWebhookRetryDelays
	}
	return &webhookSender{url: cfg.WebhookURL, signer: signer, delays: delays}, nil
}

// webhookEvent is the envelope of every event.
type webhookEvent struct {
	SpecVersion    string `json:"spec_version"`
	ID             string `json:"id"`
	Type           string `json:"type"`
	Object         string `json:"object"`
	OccurredAt     string `json:"occurred_at"`
	EnvironmentID  string `json:"environment_id"`
	OrganizationID string `json:"organization_id,omitempty"`
	Data           any    `json:"data"`
	DisplayName    string `json:"display_name"`
}

type webhookUser struct {
	CreateTime    string             `json:"create_time"`
	Email         string             `json:"email"`
	ExternalID    string             `json:"external_id"`
	ID            string             `json:"id"`
	LastLoginTime string             `json:"last_login_time,omitempty"` // only user.login and user.logout have it
	Metadata      map[string]string  `json:"metadata"`
	UpdateTime    string             `json:"update_time"`
	UserProfile   webhookUserProfile `json:"user_profile"`
}

type webhookUserProfile struct {
	CustomAttributes    map[string]string `json:"custom_attributes"`
	EmailVerified       bool              `json:"email_verified"`
	ExternalIdentities  []struct{}        `json:"external_identities"`
	FamilyName          string            `json:"family_name"`
	Gender              string            `json:"gender"`
	GivenName           string            `json:"given_name"`
	ID                  string            `json:"id,omitempty"` // only user.login and user.logout have it
	Locale              string            `json:"locale"`
	Metadata            map[string]string `json:"metadata"`
	Name                string            `json:"name"`
	PhoneNumber         string            `json:"phone_number"`
	PhoneNumberVerified bool              `json:"phone_number_verified"`
	Picture             string            `json:"picture"`
	PreferredUsername   string            `json:"preferred_username"`
}

// webhookSession is user.logout's data.user_session. Its status is
// upper case, as in both webhook sources (the REST API's is lower case).
type webhookSession struct {
	AbsoluteExpiresAt          string            `json:"absolute_expires_at"`
	AuthenticatedOrganizations []string          `json:"authenticated_organizations"`
	CreatedAt                  string            `json:"created_at"`
	ExpiredAt                  *string           `json:"expired_at"`
	IdleExpiresAt              string            `json:"idle_expires_at"`
	LastActiveAt               string            `json:"last_active_at"`
	LogoutAt                   *string           `json:"logout_at"`
	OrganizationID             string            `json:"organization_id"`
	SessionID                  string            `json:"session_id"`
	Status                     string            `json:"status"`
	UpdatedAt                  string            `json:"updated_at"`
	UserID                     string            `json:"user_id"`
	Device                     map[string]string `json:"device"`
}

type webhookOrganization struct {
	ID          string             `json:"id"`
	CreateTime  string             `json:"create_time"`
	DeletedAt   string             `json:"deleted_at,omitempty"` // organization.deleted only
	DisplayName string             `json:"display_name"`
	ExternalID  *string            `json:"external_id"`
	Metadata    map[string]string  `json:"metadata"`
	RegionCode  string             `json:"region_code"`
	UpdateTime  string             `json:"update_time"`
	Settings    webhookOrgSettings `json:"settings"`
}

type webhookOrgSettings struct {
	Features []webhookFeature `json:"features"`
}

type webhookFeature struct {
	Enabled bool   `json:"enabled"`
	Name    string `json:"name"`
}

type membershipEventData struct {
	Organization webhookOrganization `json:"organization"`
	User         webhookUser         `json:"user"`
}

type logoutEventData struct {
	User        webhookUser    `json:"user"`
	UserSession webhookSession `json:"user_session"`
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// webhookUserLocked describes u; s.mu is held.
func (s *Server) webhookUserLocked(u *User) webhookUser {
	return webhookUser{
		CreateTime: stamp(s.started), Email: u.Email, ExternalID: u.ExternalID, ID: u.ID,
		Metadata: map[string]string{}, UpdateTime: stamp(s.started),
		UserProfile: webhookUserProfile{
			EmailVerified: u.EmailVerified, ExternalIdentities: []struct{}{},
			FamilyName: u.FamilyName, GivenName: u.GivenName, Metadata: map[string]string{},
			Name: u.Name, Picture: u.Picture,
		},
	}
}

func (s *Server) webhookOrganization(o organization) webhookOrganization {
	out := webhookOrganization{
		ID: o.id, CreateTime: stamp(s.started), DisplayName: o.name, RegionCode: "US", UpdateTime: stamp(s.started),
		Settings: webhookOrgSettings{Features: []webhookFeature{{true, "sso"}, {false, "dir_sync"}}},
	}
	if o.externalID != "" {
		out.ExternalID = &o.externalID
	}
	return out
}

// webhookSessionLocked describes an ended provider session; s.mu is held.
func (s *Server) webhookSessionLocked(ps providerSession) webhookSession {
	ended := stamp(ps.endedAt)
	out := webhookSession{
		AbsoluteExpiresAt: stamp(ps.authTime.Add(s.refreshTTL)), AuthenticatedOrganizations: []string{},
		CreatedAt: stamp(ps.authTime), IdleExpiresAt: stamp(ps.lastActive.Add(s.refreshTTL)),
		LastActiveAt: stamp(ps.lastActive), OrganizationID: ps.orgID, SessionID: ps.id,
		Status: "REVOKED", UpdatedAt: ended, UserID: ps.userID, Device: map[string]string{},
	}
	if ps.orgID != "" {
		out.AuthenticatedOrganizations = []string{ps.orgID}
	}
	if ps.endStatus == statusLogout {
		out.Status, out.LogoutAt = "LOGOUT", &ended
	} else {
		out.ExpiredAt = &ended
	}
	return out
}

// sendLogoutWebhook sends user.logout for an ended provider session.
func (s *Server) sendLogoutWebhook(ps providerSession) {
	if s.webhooks == nil {
		return
	}
	s.mu.Lock()
	u := s.dir.user(ps.userID)
	if u == nil {
		s.mu.Unlock()
		return
	}
	data := logoutEventData{User: s.webhookUserLocked(u), UserSession: s.webhookSessionLocked(ps)}
	data.User.LastLoginTime = stamp(ps.authTime)
	data.User.UserProfile.ID = profileID(u.ID)
	s.mu.Unlock()
	s.emit("user.logout", "User", "User Logout", ps.orgID, data)
}

// sendMembershipWebhook sends a user.organization_membership_* event.
func (s *Server) sendMembershipWebhook(eventType, displayName string, u User, o organization) {
	if s.webhooks == nil {
		return
	}
	s.mu.Lock()
	data := membershipEventData{Organization: s.webhookOrganization(o), User: s.webhookUserLocked(&u)}
	s.mu.Unlock()
	s.emit(eventType, "OrgMembership", displayName, o.id, data)
}

func (s *Server) sendOrganizationDeletedWebhook(o organization) {
	if s.webhooks == nil {
		return
	}
	data := s.webhookOrganization(o)
	data.DeletedAt = stamp(s.now())
	s.emit("organization.deleted", "Organization", "Organization Deleted", o.id, data)
}

// emit delivers an event in the background: the action that caused it never
// waits for the app.
func (s *Server) emit(eventType, object, displayName, orgID string, data any) {
	ev := webhookEvent{
		SpecVersion: "1", ID: "evt_" + randomDigits(), Type: eventType, Object: object,
		OccurredAt: stamp(s.now()), EnvironmentID: s.envID, OrganizationID: orgID,
		Data: data, DisplayName: displayName,
	}
	body, err := json.Marshal(ev)
	if err != nil {
		s.log.Error("webhook: encode", "type", eventType, "err", err)
		return
	}
	s.background(func(ctx context.Context) { s.deliver(ctx, ev.ID, ev.Type, body) })
}

// deliver posts an event until the app answers 200, 201 or 202 (what
// Scalekit counts as delivered) or the retries run out. Close stops the
// retries; an attempt under way finishes (within its timeout).
func (s *Server) deliver(ctx context.Context, id, eventType string, body []byte) {
	log := s.log.With("event", id, "type", eventType)
	for attempt := 0; ; attempt++ {
		status, err := s.postWebhook(ctx, id, body)
		if err == nil && (status == http.StatusOK || status == http.StatusCreated || status == http.StatusAccepted) {
			log.Info("webhook delivered", "status", status, "attempt", attempt+1)
			s.count("webhook " + eventType + " delivered")
			return
		}
		if attempt == len(s.webhooks.delays) {
			log.Warn("webhook not delivered; giving up", "status", status, "err", err, "attempts", attempt+1)
			return
		}
		log.Warn("webhook not delivered; will retry", "status", status, "err", err, "in", s.webhooks.delays[attempt])
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.webhooks.delays[attempt]):
		}
	}
}

func (s *Server) postWebhook(ctx context.Context, id string, body []byte) (int, error) {
	// The signature's timestamp is the real time, whatever clock the
	// provider's tokens use: the receiver checks it against its own clock.
	now := time.Now()
	sig, err := s.webhooks.signer.Sign(id, now, body)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.webhooks.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// profileID is the id of a user's profile (Scalekit's usp_…).
func profileID(userID string) string { return "usp_" + strings.TrimPrefix(userID, "usr_") }
