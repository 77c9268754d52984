package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/session"
)

type listedSessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	UserAgent  string    `json:"userAgent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

func handleListSessions(sessions *session.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		rec, err := sessions.Current(ctx)
		if err != nil {
			return err
		}
		listed, err := sessions.List(ctx, rec.User.ID)
		if err != nil {
			return err
		}
		out := make([]listedSessionJSON, 0, len(listed))
		for _, l := range listed {
			out = append(out, listedSessionJSON{ID: l.PublicID, CreatedAt: l.CreatedAt.UTC(), LastSeenAt: l.LastSeenAt.UTC(),
				UserAgent: l.UserAgent, IP: l.IP, Current: l.PublicID == rec.PublicID})
		}
		return c.JSON(http.StatusOK, out)
	}
}

// handleRevokeSession ends one of the user's own sessions; anyone else's id,
// or an unknown one, is a 404 that tells nothing about other users. The
// session's Scalekit session is revoked there in the background.
func handleRevokeSession(sessions *session.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		rec, err := sessions.Current(ctx)
		if err != nil {
			return err
		}
		id := c.Param("id")
		if len(id) > 64 {
			return errNotFound("There is no such session.")
		}
		found, err := sessions.Revoke(ctx, rec, id)
		if err != nil {
			return err
		}
		if !found {
			return errNotFound("There is no such session.")
		}
		if id == rec.PublicID {
			sessions.ClearCookie(ctx, c.Response())
		}
		return c.NoContent(http.StatusNoContent)
	}
}

type revokedJSON struct {
	Revoked int `json:"revoked"`
}

// handleRevokeOtherSessions ends all the user's sessions but this one, and
// revokes their Scalekit sessions in the background.
func handleRevokeOtherSessions(sessions *session.Manager) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		rec, err := sessions.Current(ctx)
		if err != nil {
			return err
		}
		n, err := sessions.RevokeOthers(ctx, rec)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, revokedJSON{Revoked: n})
	}
}
