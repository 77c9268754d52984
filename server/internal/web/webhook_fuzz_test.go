package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/session"
)

// FuzzWebhook sends whatever id, timestamp, signatures and body the fuzzer
// makes (with sign set, a correct signature is added to its own) and checks
// that the webhook route answers 2xx only when an independent HMAC over
// "id.timestamp.body" with the endpoint's key matches one of the v1
// signatures and the timestamp is within five minutes; never a 5xx. A
// timestamp of "" means now+offset seconds. Seeds: testdata/fuzz/FuzzWebhook.
func FuzzWebhook(f *testing.F) {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"SCALEKIT_WEBHOOK_SECRET": testWebhookSecret}[k]
	})
	if err != nil {
		f.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(testWebhookSecret, "whsec_"))
	if err != nil {
		f.Fatal(err)
	}
	// No rate limit to speak of: the fuzzer sends thousands of requests a second.
	srv := newServer(discardLogger(), cfg, session.NewMemory(session.Options{}), nil, http.NotFoundHandler(), session.Limit{Rate: 1e9, Burst: 1 << 30})
	sign := func(id string, ts int64, body []byte) string {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
		h.Write(body)
		return base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	f.Fuzz(func(t *testing.T, id, timestamp string, offset int64, signatures string, body []byte, addSignature bool) {
		now := time.Now()
		if timestamp == "" {
			timestamp = strconv.FormatInt(now.Unix()+offset, 10)
		}
		ts, tsErr := strconv.ParseInt(timestamp, 10, 64)
		if addSignature && tsErr == nil {
			signatures += " v1," + sign(id, ts, body)
		}
		req := httptest.NewRequest(http.MethodPost, "/webhooks/scalekit", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", timestamp)
		req.Header.Set("webhook-signature", signatures)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)

		if w.Code >= 500 {
			t.Fatalf("webhook = %d %s; want no 5xx", w.Code, w.Body)
		}
		if w.Code < 200 || w.Code > 299 {
			return
		}
		// Accepted: it must have been correctly signed, recently.
		if id == "" || tsErr != nil {
			t.Fatalf("webhook accepted with id %q, timestamp %q", id, timestamp)
		}
		if age := now.Sub(time.Unix(ts, 0)); age > 5*time.Minute+time.Second || age < -5*time.Minute-time.Second {
			t.Fatalf("webhook accepted with a timestamp %v away", age)
		}
		want := sign(id, ts, body)
		for _, s := range strings.Split(signatures, " ") {
			if version, sig, _ := strings.Cut(s, ","); version == "v1" && strings.Split(sig, ",")[0] == want {
				return
			}
		}
		t.Fatalf("webhook accepted with signatures %q; none is v1,%s", signatures, want)
	})
}
