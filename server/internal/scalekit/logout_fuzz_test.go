package scalekit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// FuzzVerifyLogoutToken signs whatever payload and typ header the fuzzer
// makes with the environment's own key, and checks that a token
// VerifyLogoutToken accepts has every claim of Back-Channel Logout 1.0 §2.4
// as an independent reading of the payload finds it: a verified token always
// had its claims checked. "{{iss}}" in a payload stands for the issuer (its
// port changes from run to run). Seeds: testdata/fuzz/FuzzVerifyLogoutToken.
func FuzzVerifyLogoutToken(f *testing.F) {
	op := newTestOP(f, opOptions{})
	c := newTestClient(f, op)
	now := op.clock.Now()
	f.Fuzz(func(t *testing.T, typ string, payload []byte) {
		payload = bytes.ReplaceAll(payload, []byte("{{iss}}"), []byte(op.tokenIssuer()))
		raw := signRawTyped(t, typ, payload)
		got, err := c.VerifyLogoutToken(context.Background(), raw)
		if err != nil {
			if !errors.Is(err, scalekit.ErrInvalidToken) {
				t.Fatalf("VerifyLogoutToken(typ %q, %s) = %v; want ErrInvalidToken", typ, payload, err)
			}
			return
		}
		if why := notALogoutToken(typ, payload, op.tokenIssuer(), now); why != "" {
			t.Fatalf("VerifyLogoutToken accepted typ %q, %s; but %s", typ, payload, why)
		}
		var want struct {
			Sub string `json:"sub"`
			Sid string `json:"sid"`
			JTI string `json:"jti"`
		}
		_ = json.Unmarshal(payload, &want)
		if got.Subject != want.Sub || got.SessionID != want.Sid || got.JTI != want.JTI {
			t.Fatalf("VerifyLogoutToken(%s) = %+v; want sub %q, sid %q, jti %q", payload, got, want.Sub, want.Sid, want.JTI)
		}
	})
}

// notALogoutToken says what makes a token fail §2.4, or "" when it passes.
// Claim names are matched exactly; a payload whose keys differ from ours only
// in case is let through unjudged (encoding/json matches names without case,
// so it is ambiguous, not wrong).
func notALogoutToken(typ string, payload []byte, issuer string, now time.Time) string {
	switch strings.ToLower(typ) {
	case "logout+jwt", "application/logout+jwt":
	default:
		return "its typ is " + typ
	}
	var claims map[string]json.RawMessage
	if json.Unmarshal(payload, &claims) != nil {
		return "it is not a JSON object"
	}
	for k := range claims {
		for _, name := range []string{"iss", "aud", "iat", "exp", "nbf", "jti", "sub", "sid", "events", "nonce"} {
			if k != name && strings.EqualFold(k, name) {
				return ""
			}
		}
	}
	str := func(name string) (string, bool) {
		var s string
		return s, json.Unmarshal(claims[name], &s) == nil
	}
	num := func(name string) (float64, bool) { // a JSON number, or a string holding one
		var n json.Number
		if json.Unmarshal(claims[name], &n) != nil {
			return 0, false
		}
		f, err := n.Float64()
		return f, err == nil
	}
	if iss, _ := str("iss"); iss != issuer {
		return "iss is " + iss
	}
	var auds []string
	if aud, ok := str("aud"); ok {
		auds = []string{aud}
	} else if json.Unmarshal(claims["aud"], &auds) != nil {
		return "aud is neither a string nor a list of strings"
	}
	if !containsString(auds, testClientID) {
		return "aud lacks the client id"
	}
	iat, ok := num("iat")
	if !ok || iat > float64(now.Add(scalekit.LogoutTokenSkew).Unix()) || iat < float64(now.Add(-scalekit.LogoutTokenMaxAge).Unix()) {
		return "iat is missing or out of range"
	}
	if exp, ok := num("exp"); !ok || exp < float64(now.Add(-scalekit.LogoutTokenSkew).Unix()) {
		return "exp is missing or past"
	}
	if nbf, ok := num("nbf"); ok && nbf > float64(now.Add(scalekit.LogoutTokenSkew).Unix()) {
		return "nbf is ahead"
	}
	if jti, _ := str("jti"); jti == "" {
		return "it has no jti"
	}
	sub, _ := str("sub")
	sid, _ := str("sid")
	if sub == "" && sid == "" {
		return "it has neither sub nor sid"
	}
	if _, ok := claims["nonce"]; ok {
		return "it has a nonce"
	}
	var events map[string]json.RawMessage
	if json.Unmarshal(claims["events"], &events) != nil {
		return "events is not an object"
	}
	var event map[string]any
	if json.Unmarshal(events["http://schemas.openid.net/event/backchannel-logout"], &event) != nil || event == nil {
		return "the backchannel-logout event is not an object"
	}
	return ""
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// signRawTyped signs payload as it is, JSON or not, with the environment's key.
func signRawTyped(t *testing.T, typ string, payload []byte) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), keyA().kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: keyA().priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
