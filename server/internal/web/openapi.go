package web

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPI documents every route for frontend developers. Tests check real
// responses against it, and the SPA's types are generated from it.
//
//go:embed openapi.json
var openAPI []byte

func handleOpenAPI() echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPI)
	}
}
