package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/session"
)

// webhookEvent is the part of a Scalekit webhook we act on. Scalekit's
// payloads put the subject in data; the field names below are the ones its
// user and membership events use, read leniently.
type webhookEvent struct {
	Type string `json:"type"`
	Data struct {
		ID        string `json:"id"`
		UserID    string `json:"user_id"`
		SessionID string `json:"session_id"`
		SID       string `json:"sid"`
	} `json:"data"`
}

// handleWebhook verifies a Scalekit webhook (Standard Webhooks signatures:
// HMAC-SHA256 over id.timestamp.body, 5-minute tolerance) and ends the
// sessions it reports ended. An id already handled is acknowledged and not
// acted on again; one whose handling failed is let through on retry.
func handleWebhook(logger *slog.Logger, cfg config.Config, sessions *session.Manager) echo.HandlerFunc {
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
			return &apiError{status: http.StatusNotFound, code: "not_found", message: "Webhooks are not configured."}
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err // the body limit's 413, or a broken connection
		}
		if err := verifier.Verify(body, c.Request().Header); err != nil {
			return &apiError{status: http.StatusUnauthorized, code: "unauthenticated", message: "The webhook signature is missing or invalid.", cause: err}
		}
		var ev webhookEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			return errBadRequest("The webhook body is not JSON.")
		}
		ctx := c.Request().Context()
		id := "webhook:" + c.Request().Header.Get("webhook-id")
		first, err := sessions.Once(ctx, id, 10*time.Minute)
		if err != nil {
			return err
		}
		if !first {
			// Deliveries are at-least-once: a repeat is acknowledged, not acted on
			// again, so the sender stops retrying.
			logger.Info("webhook already handled", "type", truncate(ev.Type, 64))
			return c.NoContent(http.StatusNoContent)
		}
		n, err := endSessionsFor(c, sessions, ev)
		if err != nil {
			sessions.Forget(ctx, id) // not done: the retry must be handled
			return err
		}
		logger.Info("webhook", "type", truncate(ev.Type, 64), "ended", n)
		return c.NoContent(http.StatusNoContent)
	}
}

func endSessionsFor(c echo.Context, sessions *session.Manager, ev webhookEvent) (int, error) {
	ctx := c.Request().Context()
	userID := ev.Data.UserID
	if userID == "" && strings.HasPrefix(ev.Data.ID, "usr_") {
		userID = ev.Data.ID
	}
	switch ev.Type {
	case "user.logout":
		sid := ev.Data.SessionID
		if sid == "" {
			sid = ev.Data.SID
		}
		if sid != "" {
			return sessions.EndProviderSession(ctx, sid)
		}
	case "user.deleted", "organization.membership_deleted", "user.organization_membership_deleted", "organization.user_removed":
		if userID != "" {
			return sessions.EndUser(ctx, userID)
		}
	}
	return 0, nil // acknowledged and ignored
}
