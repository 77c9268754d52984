package web

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/metrics"
	"github.com/example/scalekit-bff/server/internal/session"
)

// Scalekit's webhooks as its event specification describes them
// (scalekit-inc/developer-docs, openapi/scalekit.yaml: ScalekitEvent and the
// "webhooks" examples; testdata/webhooks has one per event, with their
// sources). The handler branches on type alone: the sources disagree on
// object ("User" or "UserLogoutEvent", "OrgMembership" or
// "OrgMembershipEvent").
type scalekitEvent struct {
	Type           string          `json:"type"`
	OrganizationID string          `json:"organization_id"`
	Data           json.RawMessage `json:"data"`
}

type eventUser struct {
	ID string `json:"id"`
}

// logoutData is user.logout's data. The specification puts the session id
// at user_session.session_id; an older docs page at user_session.id; the
// newest docs page has no session at all.
type logoutData struct {
	User        eventUser `json:"user"`
	UserSession struct {
		SessionID string `json:"session_id"`
		ID        string `json:"id"`
	} `json:"user_session"`
}

// membershipData is the data of user.organization_membership_* events.
type membershipData struct {
	User         eventUser `json:"user"`
	Organization struct {
		ID string `json:"id"`
	} `json:"organization"`
}

// organizationData is organization.* events' data: the organization itself.
type organizationData struct {
	ID string `json:"id"`
}

// webhookAck is the answer to every event accepted, acted on or not;
// Scalekit counts 200, 201 and 202 as delivered
// (src/content/docs/reference/webhooks/overview.mdx).
type webhookAck struct {
	Received bool `json:"received"`
}

// webhookReplayWindow is how long a delivered webhook id is remembered.
// Scalekit retries a failed delivery for about 22 minutes, each time with
// the same id and a fresh signature.
const webhookReplayWindow = 24 * time.Hour

// webhookClaimTTL bounds how long a delivery being handled holds its id: a
// handler that died, or failed and could not release the id (Redis down),
// holds back Scalekit's retries no longer than this.
const webhookClaimTTL = time.Minute

// handleWebhook verifies a Scalekit webhook (Standard Webhooks signatures:
// HMAC-SHA256 over id.timestamp.body, 5-minute tolerance) and applies it to
// the sessions here. An id already handled is acknowledged and not acted on
// again; one being handled (a concurrent duplicate) is answered 429 so that
// Scalekit retries it; one whose handling failed is let through on retry.
func handleWebhook(logger *slog.Logger, cfg config.Config, sessions *session.Manager, m *metrics.Metrics) echo.HandlerFunc {
	var verifier *standardwebhooks.Webhook
	if cfg.ScalekitWebhookSecret != "" {
		var err error
		if verifier, err = standardwebhooks.NewWebhook(cfg.ScalekitWebhookSecret); err != nil {
			verifier = nil // config.Load refuses such a secret; never verify with a broken one
		}
	}
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		if verifier == nil {
			return errNotFound("Webhooks are not configured.")
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err // the body limit's 413, or a broken connection
		}
		if err := verifier.Verify(body, c.Request().Header); err != nil {
			return &apiError{code: codeUnauthenticated, message: "The webhook signature is missing or invalid.", cause: err}
		}
		var ev scalekitEvent
		if err := json.Unmarshal(body, &ev); err != nil || ev.Type == "" {
			return errBadRequest("The webhook body is not a Scalekit event.")
		}
		ctx := c.Request().Context()
		id := "webhook:" + c.Request().Header.Get("webhook-id")
		claim, err := sessions.Claim(ctx, id, webhookClaimTTL)
		if err != nil {
			return err
		}
		switch claim {
		case session.ClaimDone:
			// Deliveries are at-least-once: a repeat is acknowledged, not acted on
			// again, so the sender stops retrying.
			m.WebhookEvent(eventLabel(ev.Type), true)
			logger.InfoContext(ctx, "webhook already handled", "type", truncate(ev.Type, 64))
			return c.JSON(http.StatusOK, webhookAck{Received: true})
		case session.ClaimBusy:
			// Not yet done, and it may yet fail: only a non-2xx makes the
			// sender come back.
			c.Response().Header().Set("Retry-After", "5")
			return &apiError{code: codeRateLimited, message: "This webhook is being handled. Please retry later."}
		}
		// The client hanging up must not leave the id claimed or unfinished.
		detached := context.WithoutCancel(ctx)
		if err := applyEvent(ctx, logger, sessions, m, ev); err != nil {
			sessions.Forget(detached, id) // not done: the retry must be handled
			return err
		}
		if err := sessions.Finish(detached, id, webhookReplayWindow); err != nil {
			// Done, but not remembered: a retry after the claim expires acts
			// again, which changes nothing more.
			logger.WarnContext(ctx, "webhook handled but not recorded as such", "type", truncate(ev.Type, 64), "err", err)
		}
		m.WebhookEvent(eventLabel(ev.Type), false)
		return c.JSON(http.StatusOK, webhookAck{Received: true})
	}
}

// applyEvent does what an event means for the sessions here. An id that
// names no session here changes nothing; so does any other event type.
func applyEvent(ctx context.Context, logger *slog.Logger, sessions *session.Manager, m *metrics.Metrics, ev scalekitEvent) error {
	log := logger.With("type", truncate(ev.Type, 64))
	switch ev.Type {
	case "user.logout":
		var d logoutData
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		sid := cmp.Or(d.UserSession.SessionID, d.UserSession.ID)
		if sid == "" {
			log.InfoContext(ctx, "webhook names no session; nothing ended", "sub", truncate(d.User.ID, 64))
			return nil
		}
		if !plainEventID(sid) {
			return errBadRequest("The event's session id is not valid.")
		}
		n, err := sessions.EndProviderSession(ctx, sid)
		if err != nil {
			return err
		}
		m.SessionsEnded(metrics.EndWebhook, n)
		log.InfoContext(ctx, "webhook", "sid", sid, "ended", n)
	case "user.organization_membership_deleted", "user.organization_membership_updated":
		var d membershipData
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		sub, oid := d.User.ID, d.Organization.ID
		if !plainEventID(sub) || !plainEventID(oid) {
			return errBadRequest("The event needs data.user.id and data.organization.id.")
		}
		if ev.Type == "user.organization_membership_deleted" {
			n, err := sessions.EndMembership(ctx, sub, oid)
			if err != nil {
				return err
			}
			m.SessionsEnded(metrics.EndWebhook, n)
			log.InfoContext(ctx, "webhook", "sub", sub, "org", oid, "ended", n)
			return nil
		}
		n, err := sessions.MarkTokensStale(ctx, sub, oid)
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "webhook", "sub", sub, "org", oid, "refresh_next", n)
	case "organization.deleted":
		var d organizationData
		if err := decodeData(ev, &d); err != nil {
			return err
		}
		oid := cmp.Or(d.ID, ev.OrganizationID)
		if !plainEventID(oid) {
			return errBadRequest("The event needs data.id or organization_id.")
		}
		n, err := sessions.EndOrganization(ctx, oid)
		if err != nil {
			return err
		}
		m.SessionsEnded(metrics.EndWebhook, n)
		log.InfoContext(ctx, "webhook", "org", oid, "ended", n)
	default:
		log.DebugContext(ctx, "webhook ignored")
	}
	return nil
}

// eventLabel bounds the type label of bff_webhook_events_total: the types
// acted on, and "other".
func eventLabel(t string) string {
	switch t {
	case "user.logout", "user.organization_membership_deleted", "user.organization_membership_updated", "organization.deleted":
		return t
	}
	return "other"
}

func decodeData(ev scalekitEvent, v any) error {
	if len(ev.Data) == 0 || string(ev.Data) == "null" {
		return nil // the fields read as empty
	}
	if err := json.Unmarshal(ev.Data, v); err != nil {
		return errBadRequest("The event's data does not have the shape of a " + truncate(ev.Type, 64) + " event.")
	}
	return nil
}

// plainEventID accepts the ids Scalekit sends (usr_…, ses_…, org_…, digits)
// and refuses what could only be noise: empty, long, or odd bytes.
func plainEventID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
