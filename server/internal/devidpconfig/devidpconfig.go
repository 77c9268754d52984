// Package devidpconfig builds the built-in identity provider from the
// configuration: the one place where a config.DevIDP becomes a devidp.Config,
// for the server (cmd/bff) and for the provider on its own (cmd/devidp).
// devidp itself imports none of our packages.
package devidpconfig

import (
	"log/slog"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/devidp"
)

// New returns the provider d describes, at issuer (see config.DevIDP.IssuerAt),
// with d's client as its one client.
func New(d config.DevIDP, issuer string, logger *slog.Logger) (*devidp.Server, error) {
	return devidp.New(devidp.Config{
		Issuer:          issuer,
		AccessTokenTTL:  d.AccessTokenTTL,
		IDTokenTTL:      d.IDTokenTTL,
		RefreshTokenTTL: d.RefreshTokenTTL,
		Clients: []devidp.Client{{
			ID:                     d.ClientID,
			Secret:                 d.ClientSecret,
			RedirectURIs:           d.RedirectURIs,
			PostLogoutRedirectURIs: d.PostLogoutRedirectURIs,
			BackchannelLogoutURI:   d.BackchannelLogoutURI,
			InitiateLoginURI:       d.InitiateLoginURL,
		}},
		WebhookURL:    d.WebhookURL,
		WebhookSecret: d.WebhookSecret,
		// A custom claim, as a Scalekit environment can add one (Token
		// Claims): the demo API greets the user by it.
		AccessTokenClaims: map[string]string{"given_name": "user.given_name"},
		Logger:            logger,
	})
}
