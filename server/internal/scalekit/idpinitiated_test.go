package scalekit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// idpInitiatedClaims are the claims of Scalekit's documented example
// (src/content/docs/sso/guides/idp-init-sso.mdx): no aud, a five-minute
// lifetime; plus the relay_state that the SDKs read.
func (op *testOP) idpInitiatedClaims() map[string]any {
	now := op.clock.Now()
	return map[string]any{
		"organization_id": "org_1",
		"connection_id":   "conn_1",
		"login_hint":      "ada@example.com",
		"relay_state":     "/reports?q=1",
		"iss":             op.tokenIssuer(),
		"iat":             now.Unix(),
		"nbf":             now.Unix(),
		"exp":             now.Add(5 * time.Minute).Unix(),
	}
}

func TestGetIdpInitiatedLoginClaims(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	now := op.clock.Now()
	got, err := c.GetIdpInitiatedLoginClaims(context.Background(), op.sign(keyA(), op.idpInitiatedClaims()))
	if err != nil {
		t.Fatalf("GetIdpInitiatedLoginClaims: %v", err)
	}
	want := &scalekit.IdpInitiatedLoginClaims{
		OrganizationID: "org_1", ConnectionID: "conn_1", LoginHint: "ada@example.com", RelayState: "/reports?q=1",
		IssuedAt: time.Unix(now.Unix(), 0), ExpiresAt: time.Unix(now.Add(5*time.Minute).Unix(), 0),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetIdpInitiatedLoginClaims (-want +got):\n%s", diff)
	}

	with := func(changes map[string]any) map[string]any { return withChanges(op.idpInitiatedClaims(), changes) }
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	// other gives another kind of token an organization_id (and more changes).
	other := func(claims map[string]any, kv ...any) map[string]any {
		claims["organization_id"] = "org_1"
		for i := 0; i+1 < len(kv); i += 2 {
			claims[kv[i].(string)] = kv[i+1]
		}
		return claims
	}
	without := func(claims map[string]any, names ...string) map[string]any {
		for _, n := range names {
			delete(claims, n)
		}
		return claims
	}
	for _, tc := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"aud naming this client", op.sign(keyA(), with(map[string]any{"aud": []string{"other", testClientID}})), true},
		{"aud as a string", op.sign(keyA(), with(map[string]any{"aud": testClientID})), true},
		{"only an organization", op.sign(keyA(), with(map[string]any{"connection_id": nil, "login_hint": nil, "relay_state": nil})), true},
		{"no nbf", op.sign(keyA(), with(map[string]any{"nbf": nil})), true},
		{"expired within the leeway", op.sign(keyA(), with(map[string]any{"iat": at(-6 * time.Minute), "exp": at(-59 * time.Second)})), true},
		{"nbf within the leeway", op.sign(keyA(), with(map[string]any{"nbf": at(59 * time.Second)})), true},
		{"iat within the leeway", op.sign(keyA(), with(map[string]any{"iat": at(59 * time.Second)})), true},

		{"expired", op.sign(keyA(), with(map[string]any{"iat": at(-7 * time.Minute), "exp": at(-61 * time.Second)})), false},
		{"no exp", op.sign(keyA(), with(map[string]any{"exp": nil})), false},
		{"nbf in the future", op.sign(keyA(), with(map[string]any{"nbf": at(2 * time.Minute)})), false},
		// A huge nbf must not wrap around to the past (time.Unix, int64 of a float).
		{"nbf MaxInt64", op.sign(keyA(), with(map[string]any{"nbf": int64(math.MaxInt64)})), false},
		{"nbf where time.Unix wraps", op.sign(keyA(), with(map[string]any{"nbf": int64(math.MaxInt64 - 1e9)})), false},
		{"nbf beyond int64", op.sign(keyA(), with(map[string]any{"nbf": 1e19})), false},
		{"iat MaxInt64", op.sign(keyA(), with(map[string]any{"iat": int64(math.MaxInt64)})), false},
		{"iat MinInt64", op.sign(keyA(), with(map[string]any{"iat": int64(math.MinInt64)})), false},
		{"exp MinInt64", op.sign(keyA(), with(map[string]any{"exp": int64(math.MinInt64)})), false},
		{"no iat", op.sign(keyA(), with(map[string]any{"iat": nil})), false},
		{"iat in the future", op.sign(keyA(), with(map[string]any{"iat": at(2 * time.Minute)})), false},
		{"iat too old, exp far ahead", op.sign(keyA(), with(map[string]any{"iat": at(-11 * time.Minute), "exp": at(time.Hour)})), false},
		{"a foreign issuer", op.sign(keyA(), with(map[string]any{"iss": "https://evil.example"})), false},
		{"aud naming another client", op.sign(keyA(), with(map[string]any{"aud": []string{"skc_other"}})), false},
		{"names nothing", op.sign(keyA(), with(map[string]any{"organization_id": nil, "connection_id": nil, "login_hint": nil})), false},
		{"organization_id not a string", op.sign(keyA(), with(map[string]any{"organization_id": 7})), false},
		{"a key the environment never published", op.sign(keyX(), op.idpInitiatedClaims()), false},
		// Other JWTs the environment signs with the same keys, each naming an
		// organization (a custom access-token claim may be called organization_id).
		{"an ID token", op.sign(keyA(), other(op.idClaims("n"))), false},
		{"an ID token without a nonce", op.sign(keyA(), other(without(op.idClaims(""), "nonce"))), false},
		{"an access token", op.sign(keyA(), other(op.accessClaims("usr_123"))), false},
		{"an access token for this client, without sid", op.sign(keyA(), other(without(op.accessClaims("usr_123"), "sid"), "aud", testClientID)), false},
		{"a logout token", op.signLogout(keyA(), other(op.logoutClaims())), false},
		{"a logout token, typed JWT", op.sign(keyA(), other(without(op.logoutClaims(), "sub", "sid"))), false},
		{"typed at+jwt", op.signTyped(keyA(), "at+jwt", op.idpInitiatedClaims()), false},
		{"typed logout+jwt", op.signTyped(keyA(), "logout+jwt", op.idpInitiatedClaims()), false},
		{"untyped", op.signTyped(keyA(), "", op.idpInitiatedClaims()), true},
		{"alg none", unsignedJWT(t, keyA().kid, op.idpInitiatedClaims()), false},
		{"HS256 with the public key as secret", hmacWithPublicKey(t, op.idpInitiatedClaims()), false},
		{"garbage", "not.a.jwt", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.GetIdpInitiatedLoginClaims(context.Background(), tc.token)
			switch {
			case tc.ok && err != nil:
				t.Errorf("GetIdpInitiatedLoginClaims = %v; want claims", err)
			case !tc.ok && !errors.Is(err, scalekit.ErrInvalidToken):
				t.Errorf("GetIdpInitiatedLoginClaims = %+v, %v; want ErrInvalidToken", got, err)
			}
		})
	}
}

// TestGetIdpInitiatedLoginClaimsCustomIssuer: behind a custom domain the
// token carries the configured issuer, and the environment URL is foreign.
func TestGetIdpInitiatedLoginClaimsCustomIssuer(t *testing.T) {
	op := newTestOP(t, opOptions{})
	op.docIssuer = "https://auth.example.com"
	c := newTestClient(t, op, func(cfg *scalekit.Config) { cfg.Issuer = "https://auth.example.com" })
	if _, err := c.GetIdpInitiatedLoginClaims(context.Background(), op.sign(keyA(), op.idpInitiatedClaims())); err != nil {
		t.Errorf("GetIdpInitiatedLoginClaims(iss %s) = %v; want claims", op.docIssuer, err)
	}
	claims := op.idpInitiatedClaims()
	claims["iss"] = op.issuer
	if _, err := c.GetIdpInitiatedLoginClaims(context.Background(), op.sign(keyA(), claims)); !errors.Is(err, scalekit.ErrInvalidToken) {
		t.Errorf("GetIdpInitiatedLoginClaims(iss %s, the environment URL) = %v; want ErrInvalidToken", op.issuer, err)
	}
}

func TestGetIdpInitiatedLoginClaimsKeysUnavailable(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	if err := c.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	op.set(func(op *testOP) { op.down = true })
	op.clock.Advance(scalekit.JWKSRefetchInterval)
	claims := op.idpInitiatedClaims()
	_, err := c.GetIdpInitiatedLoginClaims(context.Background(), op.sign(keyB(), claims))
	if !errors.Is(err, scalekit.ErrUnavailable) {
		t.Errorf("GetIdpInitiatedLoginClaims(new key, environment down) = %v; want ErrUnavailable", err)
	}
}

// FuzzIdpInitiatedLoginClaims: whatever claims a token carries, the verifier
// accepts it only when it is signed by the environment, names the expected
// issuer (and this client, if it names an audience), is within its validity
// window and names something to sign in to; and it returns exactly the
// signed values. The same claims unsigned or signed by another key are
// always refused. Seeds: testdata/fuzz/FuzzIdpInitiatedLoginClaims.
func FuzzIdpInitiatedLoginClaims(f *testing.F) {
	op := newTestOP(f, opOptions{})
	c := newTestClient(f, op)
	valid, err := json.Marshal(op.idpInitiatedClaims())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	// Valid but for a not-before so far ahead that time.Unix wraps around.
	for _, nbf := range []any{int64(math.MaxInt64), int64(math.MaxInt64 - 1e9), 1e19, 9.3e18} {
		claims := op.idpInitiatedClaims()
		claims["nbf"] = nbf
		b, err := json.Marshal(claims)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, err := c.GetIdpInitiatedLoginClaims(context.Background(), signRaw(t, keyA(), payload))
		if err != nil {
			if !errors.Is(err, scalekit.ErrInvalidToken) {
				t.Fatalf("GetIdpInitiatedLoginClaims(%s) = %v; want ErrInvalidToken", payload, err)
			}
		} else {
			checkAccepted(t, op, payload, got)
		}
		for name, token := range map[string]string{
			"unsigned":         unsignedRaw(payload),
			"another key":      signRaw(t, keyX(), payload),
			"HS256 public key": signRawHS256(t, payload),
		} {
			if got, err := c.GetIdpInitiatedLoginClaims(context.Background(), token); !errors.Is(err, scalekit.ErrInvalidToken) {
				t.Fatalf("GetIdpInitiatedLoginClaims(%s, %s) = %+v, %v; want ErrInvalidToken", name, payload, got, err)
			}
		}
	})
}

// checkAccepted re-reads the payload on its own and checks every rule.
func checkAccepted(t *testing.T, op *testOP, payload []byte, got *scalekit.IdpInitiatedLoginClaims) {
	t.Helper()
	// Decoded as the verifier decodes (encoding/json: member names match
	// case-insensitively, the last duplicate wins), then checked by the rules.
	var claims struct {
		Iss, Aud, Exp, Iat, Nbf any
		Org                     any `json:"organization_id"`
		Conn                    any `json:"connection_id"`
		Hint                    any `json:"login_hint"`
		Relay                   any `json:"relay_state"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("accepted a payload that is not a JSON object: %q", payload)
	}
	now := float64(op.clock.Now().Unix())
	num := func(v any) (float64, bool) {
		f, ok := v.(float64)
		return f, ok && !math.IsNaN(f)
	}
	str := func(v any) string { s, _ := v.(string); return s }
	exp, hasExp := num(claims.Exp)
	iat, hasIat := num(claims.Iat)
	nbf, hasNbf := num(claims.Nbf)
	leeway, maxAge := scalekit.IdpInitiatedLoginLeeway.Seconds(), scalekit.IdpInitiatedLoginMaxAge.Seconds()
	switch {
	case str(claims.Iss) != op.issuer:
		t.Errorf("accepted iss %v; want %s: %s", claims.Iss, op.issuer, payload)
	case !hasExp || exp+leeway+1 < now:
		t.Errorf("accepted an expired token (or one without exp): %s", payload)
	case !hasIat || iat > now+leeway+1 || now-iat > maxAge+1:
		t.Errorf("accepted an iat outside [now-%v, now+%v]: %s", maxAge, leeway, payload)
	case hasNbf && nbf > now+leeway+1:
		t.Errorf("accepted a token not valid yet: %s", payload)
	case !audienceOK(claims.Aud):
		t.Errorf("accepted an audience without this client: %s", payload)
	case str(claims.Org) == "" && str(claims.Conn) == "" && str(claims.Hint) == "":
		t.Errorf("accepted a token that names nothing: %s", payload)
	}
	var members map[string]any
	_ = json.Unmarshal(payload, &members)
	for _, name := range []string{"sub", "sid", "nonce", "events"} {
		if _, ok := members[name]; ok {
			t.Errorf("accepted a token with %s, a claim of another kind of token: %s", name, payload)
		}
	}
	want := scalekit.IdpInitiatedLoginClaims{OrganizationID: str(claims.Org), ConnectionID: str(claims.Conn),
		LoginHint: str(claims.Hint), RelayState: str(claims.Relay)}
	gotIDs := *got
	gotIDs.IssuedAt, gotIDs.ExpiresAt = time.Time{}, time.Time{}
	if diff := cmp.Diff(want, gotIDs); diff != "" {
		t.Errorf("claims differ from the signed payload %s (-want +got):\n%s", payload, diff)
	}
}

func audienceOK(aud any) bool {
	switch a := aud.(type) {
	case nil:
		return true
	case string:
		return a == testClientID
	case []any:
		return len(a) == 0 || slices.Contains(a, any(testClientID))
	}
	return false
}

func signRaw(t testing.TB, k testKey, payload []byte) string {
	t.Helper()
	return signRawWith(t, jose.SigningKey{Algorithm: jose.RS256, Key: k.priv}, k.kid, payload)
}

func signRawHS256(t testing.TB, payload []byte) string {
	t.Helper()
	// hmacWithPublicKey marshals claims; a raw payload needs the raw signer.
	var claims any
	if json.Unmarshal(payload, &claims) == nil {
		return hmacWithPublicKey(t, claims)
	}
	return signRawWith(t, jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, keyA().kid, payload)
}

func signRawWith(t testing.TB, key jose.SigningKey, kid string, payload []byte) string {
	t.Helper()
	signer, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func unsignedRaw(payload []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT","kid":"key-a"}`)) + "." + enc(payload) + "."
}
