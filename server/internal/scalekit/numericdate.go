package scalekit

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// numericDates are a verified token's exp, iat and nbf (RFC 7519 §4.1) as
// numbers of seconds, nil when absent. The rules compare them as numbers:
// time.Unix of a huge value wraps around, so a not-before near MaxInt64 read
// as a time.Time (as go-oidc reads it) lies in the distant past and would let
// the token through. A value that is not a number fails the decoding.
type numericDates struct {
	Exp, Iat, Nbf *float64
}

func (d *numericDates) UnmarshalJSON(b []byte) error {
	var raw struct {
		Exp, Iat, Nbf *json.Number
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	read := func(n *json.Number, name string) (*float64, error) {
		if n == nil {
			return nil, nil
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%s is not a number of seconds", name)
		}
		return &f, nil
	}
	var err error
	if d.Exp, err = read(raw.Exp, "exp"); err != nil {
		return err
	}
	if d.Iat, err = read(raw.Iat, "iat"); err != nil {
		return err
	}
	d.Nbf, err = read(raw.Nbf, "nbf")
	return err
}

// seconds is t as a NumericDate.
func seconds(t time.Time) float64 { return float64(t.Unix()) }

// notBefore reports whether a token's nbf, if any, has come, leeway included.
func (d numericDates) notBefore(now time.Time, leeway time.Duration) bool {
	return d.Nbf == nil || *d.Nbf <= seconds(now)+leeway.Seconds()
}

// verifierLeeway is go-oidc's allowance for clock skew in its nbf check.
const verifierLeeway = 5 * time.Minute

// checkNotBefore repeats go-oidc's nbf check on a token it verified, as
// numbers: its own reads a huge nbf as a time in the past (see numericDates).
func checkNotBefore(t *oidc.IDToken, kind string, now time.Time) error {
	var dates numericDates
	if err := t.Claims(&dates); err != nil {
		return fmt.Errorf("%w: %s: claims: %w", ErrInvalidToken, kind, err)
	}
	if !dates.notBefore(now, verifierLeeway) {
		return fmt.Errorf("%w: %s: not valid yet (nbf)", ErrInvalidToken, kind)
	}
	return nil
}

// maxUnixSeconds is the last second of year 9999: later NumericDates are
// returned as that, never as a time that wrapped around.
const maxUnixSeconds = 253402300799

// unixTime is a checked NumericDate as a time.
func unixTime(s float64) time.Time {
	return time.Unix(int64(math.Max(0, math.Min(s, maxUnixSeconds))), 0)
}
