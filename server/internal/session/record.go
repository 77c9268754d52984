package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// Record is everything the BFF keeps about one browser session: one typed
// value stored under one scs key, small enough to decode on every request.
type Record struct {
	// PublicID identifies the session in /api/sessions. It is derived one-way
	// from the session token (see PublicID) and is never the token.
	PublicID string `json:"pid,omitempty"`

	User           scalekit.User `json:"user,omitzero"` // omitted until sign-in: anonymous sessions stay small
	OrganizationID string        `json:"oid,omitempty"`
	Roles          []string      `json:"roles,omitempty"`
	Permissions    []string      `json:"perms,omitempty"`
	// UserExternalID and OrganizationExternalID are the customer's own ids
	// (the access token's xuid and xoid), empty when Scalekit has none.
	UserExternalID         string `json:"xuid,omitempty"`
	OrganizationExternalID string `json:"xoid,omitempty"`
	// OrganizationName is the current organization's name, or its id when
	// the directory did not say (see Manager.SetDirectory).
	OrganizationName string `json:"oname,omitempty"`
	// Organizations are those the user may switch to, as the directory last
	// said; nil when it never answered.
	Organizations []Organization `json:"orgs,omitempty"`

	AccessToken          scalekit.Token `json:"at,omitempty"`
	RefreshToken         scalekit.Token `json:"rt,omitempty"`
	IDToken              scalekit.Token `json:"it,omitempty"`
	AccessTokenExpiresAt time.Time      `json:"atx,omitzero"`
	// RefreshTokenExpiresAt, when the provider reports it, bounds the session:
	// a session must not outlive the refresh token that keeps it going.
	RefreshTokenExpiresAt time.Time `json:"rtx,omitzero"`
	// TokensStaleSince is when the provider last said that something the
	// tokens carry has changed (a membership's roles): the next request
	// refreshes them first. Zero when they are current.
	TokensStaleSince time.Time `json:"stale,omitzero"`

	CreatedAt  time.Time `json:"created,omitzero"`
	LastSeenAt time.Time `json:"seen,omitzero"`
	UserAgent  string    `json:"ua,omitempty"`
	IP         string    `json:"ip,omitempty"`

	// PendingLogins are the logins this browser has started and not finished,
	// keyed by their state parameter (several tabs may log in at once).
	PendingLogins map[string]PendingLogin `json:"pending,omitempty"`

	// rev identifies the stored version this record was decoded from, so a
	// write can be a compare-and-swap (see Manager.update).
	rev string
}

// SignedIn reports whether the record belongs to a signed-in user.
func (r *Record) SignedIn() bool { return r != nil && r.User.ID != "" }

// Organization is one of the organizations a user belongs to.
type Organization struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PendingLogin is one started login: what the callback must prove.
type PendingLogin struct {
	Nonce        string    `json:"n"`
	CodeVerifier string    `json:"v"`
	ReturnTo     string    `json:"r"`
	CreatedAt    time.Time `json:"t"`
	// Silent marks a prompt=none login: when the provider answers that the
	// person must sign in, they land on ReturnTo signed out, not on an
	// error page.
	Silent bool `json:"s,omitempty"`
}

// PublicID derives the id under which a session is shown and revoked. It is
// a one-way function of the token with its own domain-separation label, so it
// is neither the cookie value nor scs's store key (also a hash of the token).
func PublicID(token string) string {
	sum := sha256.Sum256([]byte("bff public session id\x00" + token))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// storeKey is the key scs stores a token's session under with
// HashTokenInStore, so Redis never holds a usable cookie value.
func storeKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// validToken reports whether a cookie value has the shape of an scs token
// (32 random bytes, base64url), so garbage never reaches the store.
func validToken(v string) bool {
	if len(v) != 43 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

const recordKey = "record"

// codec stores a Record as JSON behind a revision line. JSON of one typed
// struct decodes several times faster than scs's default gob of a map, and the
// revision makes compare-and-swap writes possible without decoding in Redis.
type codec struct{}

type envelope struct {
	Deadline time.Time `json:"d"`
	Record   *Record   `json:"r"`
}

const revLen = 16 // hex characters of the revision prefix

func (codec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	rec, _ := values[recordKey].(*Record)
	if rec == nil {
		rec = &Record{}
	}
	body, err := json.Marshal(envelope{Deadline: deadline, Record: rec})
	if err != nil {
		return nil, fmt.Errorf("encode session: %w", err)
	}
	rev := newRev()
	b := make([]byte, 0, revLen+1+len(body))
	b = append(b, rev...)
	b = append(b, '\n')
	return append(b, body...), nil
}

func (codec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) < revLen+1 || b[revLen] != '\n' {
		return time.Time{}, nil, fmt.Errorf("decode session: %w: no revision", errCorrupt)
	}
	if len(b) > revLen+1 && b[revLen+1] == stubMark {
		return decodeStub(b)
	}
	var env envelope
	if err := json.Unmarshal(b[revLen+1:], &env); err != nil {
		return time.Time{}, nil, fmt.Errorf("decode session: %w: %w", errCorrupt, err)
	}
	if env.Record == nil {
		env.Record = &Record{}
	}
	env.Record.rev = string(b[:revLen])
	return env.Deadline, map[string]any{recordKey: env.Record}, nil
}

// A stub is what the session cache hands scs instead of a stored session
// (see cachingStore): the revision, a newline, stubMark and the deadline in
// Unix nanoseconds, for an empty record that the Manager then replaces. It
// is never stored, and it skips a JSON decode on every cached request.
const stubMark = '@'

func encodeStub(rev string, deadline time.Time) []byte {
	b := make([]byte, 0, revLen+2+20)
	b = append(b, rev...)
	b = append(b, '\n', stubMark)
	return strconv.AppendInt(b, deadline.UnixNano(), 10)
}

func decodeStub(b []byte) (time.Time, map[string]any, error) {
	ns, err := strconv.ParseInt(string(b[revLen+2:]), 10, 64)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("decode session: %w: bad stub", errCorrupt)
	}
	return time.Unix(0, ns).UTC(), map[string]any{recordKey: &Record{rev: string(b[:revLen])}}, nil
}

func newRev() string {
	var b [revLen / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
