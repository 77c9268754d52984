package devidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is one RS256 key pair with its key id.
type signingKey struct {
	kid    string
	key    *rsa.PrivateKey
	signer jose.Signer // typ "JWT"
}

func newSigningKey(key *rsa.PrivateKey) (signingKey, error) {
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return signingKey{}, fmt.Errorf("generate signing key: %w", err)
		}
	}
	if key.N.BitLen() < 2048 {
		return signingKey{}, errors.New("signing key: want an RSA key of at least 2048 bits")
	}
	// A kid derived from the key (RFC 7638 thumbprint) stays the same for a
	// key that a test passes in twice; Scalekit's key ids start with "snk_".
	pub := jose.JSONWebKey{Key: &key.PublicKey}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return signingKey{}, fmt.Errorf("signing key thumbprint: %w", err)
	}
	k := signingKey{kid: "snk_" + base64.RawURLEncoding.EncodeToString(thumb)[:22], key: key}
	if k.signer, err = k.newSigner("JWT"); err != nil {
		return signingKey{}, err
	}
	return k, nil
}

func (k signingKey) newSigner(typ jose.ContentType) (jose.Signer, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.key, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType(typ),
	)
	if err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	return signer, nil
}

// currentKey returns the key that signs new tokens.
func (s *Server) currentKey() signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1]
}

// SignJWT signs claims with the provider's current RS256 key (header kid set,
// typ "JWT"). Tests use it to mint tokens the provider would never issue, such
// as a logout token with a chosen sid.
func (s *Server) SignJWT(claims map[string]any) (string, error) {
	return sign(s.currentKey().signer, claims)
}

// SignTypedJWT is SignJWT with another typ header, such as "logout+jwt"; an
// empty typ leaves the header out.
func (s *Server) SignTypedJWT(typ string, claims map[string]any) (string, error) {
	k := s.currentKey()
	opts := (&jose.SignerOptions{}).WithHeader("kid", k.kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.key}, opts)
	if err != nil {
		return "", fmt.Errorf("new signer: %w", err)
	}
	return sign(signer, claims)
}

// RotateKey adds a fresh 2048-bit signing key and makes it current. /keys
// keeps serving the old keys, so tokens signed before still verify; a relying
// party sees a kid it has not cached yet, as after a real key rotation.
func (s *Server) RotateKey() error {
	k, err := newSigningKey(nil)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
	return nil
}

func sign(signer jose.Signer, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

// verifyOwnJWT checks that raw is an RS256 JWT signed by one of our keys and
// issued by us, and decodes its claims. It does not check exp: an expired ID
// token is still a good id_token_hint.
func (s *Server) verifyOwnJWT(raw string, claims any) error {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return fmt.Errorf("parse jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return errors.New("jwt: want exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	s.mu.Lock()
	var pub *rsa.PublicKey
	for _, k := range s.keys {
		if k.kid == kid {
			pub = &k.key.PublicKey
		}
	}
	s.mu.Unlock()
	if pub == nil {
		return errors.New("jwt: unknown key id")
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return fmt.Errorf("verify jwt: %w", err)
	}
	var iss struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &iss); err != nil {
		return fmt.Errorf("decode jwt claims: %w", err)
	}
	if iss.Issuer != s.issuer {
		return errors.New("jwt: not issued by this provider")
	}
	if err := json.Unmarshal(payload, claims); err != nil {
		return fmt.Errorf("decode jwt claims: %w", err)
	}
	return nil
}

// handleKeys serves the JWKS with every key, current and retired.
func (s *Server) handleKeys(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	set := jose.JSONWebKeySet{}
	for _, k := range s.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key: &k.key.PublicKey, KeyID: k.kid, Algorithm: string(jose.RS256), Use: "sig",
		})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}
