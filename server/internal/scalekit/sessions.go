package scalekit

import (
	"context"
	"fmt"
)

// RevokeSession ends one Scalekit session (POST
// /api/v1/sessions/{session_id}/revoke; scalekit-inc/developer-docs,
// openapi/paths/api_v1_sessions_{session_id}_revoke.yaml): its refresh
// tokens stop working, so the device it belongs to cannot continue it.
// Errors: ErrNotFound (no such session: nothing to revoke), ErrUnavailable,
// *RefusedError (our credentials), *APIError.
func (c *OIDCClient) RevokeSession(ctx context.Context, sessionID string) error {
	if !validID(sessionID, "ses_") {
		return fmt.Errorf("revoke session %q: %w", sessionID, ErrNotFound)
	}
	if err := c.api.do(ctx, "POST", apiPath("/api/v1/sessions/%s/revoke", sessionID), nil); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}
