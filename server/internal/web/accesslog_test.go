package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/scalekit-bff/server/internal/logctx"
)

// The hand-formatted request line must read exactly as slog's own line for
// the same request: same keys, same values, in both formats. Each request is
// served twice over real HTTP, once logged through slog and once through
// WithAccessLog, and the parsed lines are compared.
func TestAccessLogReadsAsSlog(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var viaSlog, viaFast bytes.Buffer
			newHandler := func(w *bytes.Buffer) slog.Handler {
				if format == "json" {
					return slog.NewJSONHandler(w, nil)
				}
				return slog.NewTextHandler(w, nil)
			}
			span := trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled,
			})
			serve := func(fast *accessLog, out *bytes.Buffer, header http.Header, path string) {
				e := echo.New()
				traced := func(next echo.HandlerFunc) echo.HandlerFunc {
					return func(c echo.Context) error {
						if c.Request().Header.Get("X-Traced") != "" {
							c.SetRequest(c.Request().WithContext(trace.ContextWithSpanContext(c.Request().Context(), span)))
						}
						return next(c)
					}
				}
				e.Use(requestID(), traced, requestLog(slog.New(logctx.NewHandler(newHandler(out))), fast))
				e.GET("/items/:id", func(c echo.Context) error { return c.String(http.StatusTeapot, "x") })
				srv := httptest.NewServer(e)
				defer srv.Close()
				req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				req.Header = header
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			for _, tc := range []struct {
				name   string
				header http.Header
				path   string
			}{
				{"plain", http.Header{}, "/items/42"},
				{"client id", http.Header{"X-Request-Id": {`a "quoted" id=x`}}, "/items/7?code=secret"},
				{"no route", http.Header{}, "/nowhere"},
				{"traced", http.Header{"X-Traced": {"1"}}, "/items/9"},
			} {
				viaSlog.Reset()
				viaFast.Reset()
				serve(nil, &viaSlog, tc.header, tc.path)
				serve(&accessLog{out: &viaFast, json: format == "json"}, &viaFast, tc.header, tc.path)
				want, got := parseLogLine(t, format, viaSlog.String()), parseLogLine(t, format, viaFast.String())
				for _, m := range []map[string]string{want, got} {
					ts, err := time.Parse(time.RFC3339, m["time"])
					if err != nil || time.Since(ts) > time.Minute {
						t.Fatalf("%s: time = %q (%v); want now, RFC 3339", tc.name, m["time"], err)
					}
					// The two requests differ in these only.
					delete(m, "time")
					delete(m, "latency")
					delete(m, "request_id")
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: hand-formatted line differs from slog's (-slog +ours):\n%s", tc.name, diff)
				}
				if strings.Contains(viaFast.String(), "secret") {
					t.Errorf("%s: the query string reached the log: %s", tc.name, viaFast.String())
				}
			}
		})
	}
}

// parseLogLine reads one slog line (JSON, or text with strconv-quoted values)
// into key → value text.
func parseLogLine(t *testing.T, format, line string) map[string]string {
	t.Helper()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("want exactly one line, got %q", line)
	}
	fields := map[string]string{}
	if format == "json" {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		for k, v := range m {
			fields[k] = strings.Trim(string(must(json.Marshal(v))), `"`)
		}
		return fields
	}
	rest := strings.TrimSuffix(line, "\n")
	for rest != "" {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("no key=value at %q in %q", rest, line)
		}
		var value string
		if strings.HasPrefix(after, `"`) {
			quoted, err := strconv.QuotedPrefix(after)
			if err != nil {
				t.Fatalf("bad quoting at %q: %v", after, err)
			}
			value, _ = strconv.Unquote(quoted)
			after = after[len(quoted):]
		} else {
			value, after, _ = strings.Cut(after, " ")
			after = " " + after
		}
		fields[key] = value
		rest = strings.TrimPrefix(after, " ")
	}
	return fields
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Whatever a string holds, its written form reads back as that string (as
// valid UTF-8) and cannot end the line or the JSON value early.
func TestAccessLogQuoting(t *testing.T) {
	for _, s := range []string{
		"", "GET", "/api/:id", `a"b`, `back\slash`, "new\nline", "tab\there", "x=y", "caf\u00e9",
		"\u2028", "<script>&", "\x7f\x00", string([]byte{0xff, 'a'}),
	} {
		text := string(appendTextString(nil, s))
		if strings.ContainsAny(text, "\n\r") {
			t.Errorf("text %q: written %q splits the line", s, text)
		}
		back := text
		if strings.HasPrefix(text, `"`) {
			var err error
			if back, err = strconv.Unquote(text); err != nil {
				t.Errorf("text %q: written %q does not unquote: %v", s, text, err)
			}
		} else if s == "" || strings.ContainsAny(text, " =\"") {
			t.Errorf("text %q: written bare as %q", s, text)
		}
		if back != s {
			t.Errorf("text %q: reads back as %q", s, back)
		}

		js := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(js, &got); err != nil {
			t.Errorf("json %q: written %s is not a JSON string: %v", s, js, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got != want {
			t.Errorf("json %q: reads back as %q; want %q", s, got, want)
		}
		if bytes.ContainsAny(js, "\n\r\u2028") {
			t.Errorf("json %q: written %q splits the line", s, js)
		}
	}
}

// Pages get the page CSP; JSON responses the smaller API set of OWASP's REST
// cheat sheet, with no-store and without the document-only policies.
func TestSecurityHeadersByKind(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	for _, path := range []string{"/healthz", "/readyz", "/api/me", "/api/nothing-here"} {
		r := e.get(c, path)
		for h, want := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Cache-Control":           "no-store",
			"Referrer-Policy":         "",
			"Permissions-Policy":      "",
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q; want %q", path, h, got, want)
			}
		}
	}
	for _, path := range []string{"/", "/login-error?error=invalid_state"} {
		r := e.get(c, path)
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "form-action 'self' ") {
			t.Errorf("GET %s: CSP = %q; want the page policy", path, csp)
		}
		if got := r.Header.Get("Permissions-Policy"); got == "" {
			t.Errorf("GET %s: no Permissions-Policy", path)
		}
	}
}

// The time stamp formatted once a second reads as the layout would format it.
func TestAppendLogTime(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("east", 5*3600+1800), time.FixedZone("west", -7*3600)}
	base := time.Date(2026, 11, 27, 23, 59, 59, 0, time.UTC)
	for i := range 400 {
		for _, loc := range zones {
			ts := base.Add(time.Duration(i) * 7919 * time.Microsecond).In(loc)
			if got, want := string(appendLogTime(nil, ts)), ts.Format(rfc3339Millis); got != want {
				t.Fatalf("appendLogTime(%v) = %q; want %q", ts, got, want)
			}
		}
	}
	for _, ts := range []time.Time{time.Date(12000, 1, 1, 0, 0, 0, 5e6, time.UTC), time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := string(appendLogTime(nil, ts)), ts.Format(rfc3339Millis); got != want {
			t.Errorf("appendLogTime(%v) = %q; want %q", ts, got, want)
		}
	}
}
