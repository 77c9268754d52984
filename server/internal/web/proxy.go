package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/metrics"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
	"github.com/example/scalekit-bff/server/internal/tracing"
)

// proxiedMethods are the methods a remote API route accepts.
var proxiedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// proxiedCSP replaces the app's policy on proxied responses: they are data
// served from the app's origin, and if one is ever opened as a document (an
// upstream answering HTML) it runs sandboxed, as an opaque origin that can
// reach nothing of the app's.
const proxiedCSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

// addRemoteAPIs registers each REMOTE_APIS prefix, and everything under it,
// for the methods in proxiedMethods.
func addRemoteAPIs(e *echo.Echo, logger *slog.Logger, cfg config.Config, sessions *session.Manager, m *metrics.Metrics, tp trace.TracerProvider) {
	transport := upstreamTransport(cfg.RemoteAPITimeout)
	for _, api := range cfg.RemoteAPIs {
		var rt http.RoundTripper = transport
		if tp != nil {
			rt = tracing.Transport(rt, tp, "remote API "+api.Prefix)
		}
		if m != nil {
			rt = meteredTransport{next: rt, metrics: m, api: api.Prefix}
		}
		p := newRemoteAPI(logger, cfg, api, rt)
		guard := checkCSRFEveryMethod()
		if !api.Anonymous {
			guard = RequireSession(sessions)
		}
		for _, path := range remoteAPIRoutes(api) {
			e.Match(proxiedMethods, path, p.serve, p.checkRequest, guard)
		}
	}
}

// remoteAPIRoutes are the route patterns of one remote API.
func remoteAPIRoutes(api config.RemoteAPI) []string { return []string{api.Prefix, api.Prefix + "/*"} }

// upstreamTransport is shared by every remote API. The timeout bounds
// connecting and, once the request is sent, the wait for the response
// headers, never the body: a server-sent event stream may run for as long
// as the upstream keeps it open.
func upstreamTransport(timeout time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = timeout
	t.ResponseHeaderTimeout = timeout
	return t
}

// remoteAPI proxies one prefix to its upstream with httputil.ReverseProxy,
// which streams both ways, never follows a redirect, and drops hop-by-hop
// headers in both directions.
type remoteAPI struct {
	api       config.RemoteAPI
	public    *url.URL // the BFF's origin, for X-Forwarded-Host and -Proto
	bodyLimit int64
	proxy     *httputil.ReverseProxy
}

func newRemoteAPI(logger *slog.Logger, cfg config.Config, api config.RemoteAPI, transport http.RoundTripper) *remoteAPI {
	p := &remoteAPI{api: api, public: cfg.BaseURL, bodyLimit: cfg.RemoteAPIBodyLimit}
	p.proxy = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      transport,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.proxyError,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		// FlushInterval 0: ReverseProxy flushes text/event-stream and
		// responses of unknown length after every write, and buffers only
		// bodies of known length.
	}
	return p
}

// proxyCall carries one request's state through ReverseProxy's hooks.
type proxyCall struct {
	path     string         // the part after the prefix, "" or "/…"
	token    scalekit.Token // empty on anonymous routes
	clientIP string
	w        http.ResponseWriter
	err      error // what ErrorHandler found, for Echo's error handler
}

type proxyCallKey struct{}

func callOf(r *http.Request) *proxyCall { return r.Context().Value(proxyCallKey{}).(*proxyCall) }

// checkRequest refuses, before any session is read, what the proxy never
// forwards: a WebSocket upgrade, a path that is not plainly under the prefix,
// a body declared larger than the limit.
func (p *remoteAPI) checkRequest(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Header.Get("Upgrade") != "" {
			// The browser's WebSocket API cannot send X-CSRF, so an upgrade
			// could not get the CSRF guarantee every other call has.
			return errBadRequest("WebSockets are not proxied: a browser cannot send the X-CSRF header on them. Use server-sent events.")
		}
		if _, ok := p.subpath(r.URL); !ok {
			return errBadRequest("This path cannot be sent to the API: it has dot segments, empty segments, backslashes, control characters or encoded slashes.")
		}
		if r.ContentLength > p.bodyLimit {
			return errPayloadTooLarge()
		}
		return next(c)
	}
}

// subpath is the path after the prefix, refusing anything that could
// climb out of the upstream's base path there, whether the upstream decodes
// once more or normalizes: dot segments (plain or percent-encoded, which
// the URL parser has decoded already), empty segments, backslashes, control
// characters, and encoded slashes or backslashes. Browsers resolve dot
// segments before they send a URL, so only a hand-made request has them.
func (p *remoteAPI) subpath(u *url.URL) (string, bool) {
	rest, ok := strings.CutPrefix(u.Path, p.api.Prefix)
	if !ok || rest != "" && rest[0] != '/' {
		return "", false
	}
	raw := strings.ToLower(u.EscapedPath())
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
		return "", false
	}
	if strings.ContainsFunc(rest, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		return "", false
	}
	if rest == "" {
		return "", true
	}
	segments := strings.Split(rest[1:], "/")
	for i, s := range segments {
		if s == "." || s == ".." || s == "" && i < len(segments)-1 {
			return "", false
		}
	}
	return rest, true
}

// serve attaches the user's token (RequireSession refreshed it), checks the
// route's permissions and sends the request on.
func (p *remoteAPI) serve(c echo.Context) error {
	r := c.Request()
	call := &proxyCall{clientIP: c.RealIP(), w: c.Response()}
	call.path, _ = p.subpath(r.URL)
	if !p.api.Anonymous {
		u, ok := CurrentUser(c)
		if !ok {
			return session.ErrNoSession
		}
		for _, perm := range p.api.Permissions {
			if !slices.Contains(u.Permissions, perm) {
				return &apiError{code: codeForbidden, message: "You do not have the permission this API needs.",
					cause: fmt.Errorf("%s needs the permission %q", p.api.Prefix, perm)}
			}
		}
		call.token = u.AccessToken
	}
	if r.Body != nil && r.Body != http.NoBody {
		// Also bounds a chunked body, whose size is known only once read.
		r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, p.bodyLimit)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", proxiedCSP)
	h.Del(echo.HeaderCacheControl) // the upstream's, or no-store (modifyResponse)
	p.proxy.ServeHTTP(&finalOnlyWriter{Response: c.Response()}, r.WithContext(context.WithValue(r.Context(), proxyCallKey{}, call)))
	return call.err
}

// finalOnlyWriter passes only the final answer to Echo's response. An
// upstream's 1xx (103 Early Hints) would otherwise commit it: ReverseProxy
// writes a 1xx through the ResponseWriter and then clears its header map,
// and Echo sends the first status it is given and ignores the next. So the
// proxy writes headers into a map of their own, which joins the BFF's at the
// final status; 1xx answers are dropped.
type finalOnlyWriter struct {
	*echo.Response
	header http.Header
	final  bool
}

func (w *finalOnlyWriter) Header() http.Header {
	if w.final {
		return w.Response.Header() // trailers come after the status
	}
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *finalOnlyWriter) WriteHeader(code int) {
	if code < http.StatusOK || w.final {
		return
	}
	w.final = true
	h := w.Response.Header()
	for k, v := range w.header {
		h[k] = v
	}
	w.Response.WriteHeader(code)
}

func (w *finalOnlyWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.Response.Write(b)
}

func (w *finalOnlyWriter) Unwrap() http.ResponseWriter { return w.Response }

// rewrite builds the upstream request: the upstream's base path and the
// subpath, the query as it came, the body as it comes. Of the browser's
// headers, those meant for the BFF (its cookie, X-CSRF, an Authorization)
// and any forwarding headers it made up are dropped; ReverseProxy drops the
// hop-by-hop ones and Forwarded/X-Forwarded-* itself.
func (p *remoteAPI) rewrite(pr *httputil.ProxyRequest) {
	call, out, up := callOf(pr.In), pr.Out, p.api.Upstream
	out.URL.Scheme, out.URL.Host = up.Scheme, up.Host
	out.URL.Path, out.URL.RawPath = up.Path+call.path, ""
	out.Host = "" // the upstream's own host name
	// ReverseProxy drops query parameters it cannot parse, against request
	// smuggling through proxies that decide on them; this one decides on
	// none, and the query passes as it came.
	out.URL.RawQuery = pr.In.URL.RawQuery
	for _, name := range []string{"Cookie", "Authorization", "X-Csrf", "X-Real-Ip"} {
		out.Header.Del(name)
	}
	for name := range out.Header {
		if strings.HasPrefix(name, "X-Forwarded-") {
			out.Header.Del(name)
		}
	}
	// Not SetXForwarded: behind a load balancer that terminates TLS, the
	// peer and In.TLS describe the balancer, while the client IP (as
	// TRUSTED_PROXIES decides) and APP_BASE_URL describe the browser's call.
	out.Header.Set("X-Forwarded-For", call.clientIP)
	out.Header.Set("X-Forwarded-Proto", p.public.Scheme)
	out.Header.Set("X-Forwarded-Host", p.public.Host)
	if call.token != "" {
		out.Header.Set("Authorization", "Bearer "+string(call.token))
	}
}

// upstreamOnlyHeaders are response headers the browser must only ever get
// from the BFF: an upstream's would set cookies on the app's origin, loosen
// its security headers, clear its site data or allow cross-origin reads.
var upstreamOnlyHeaders = []string{
	"Set-Cookie", "Set-Cookie2", "Clear-Site-Data",
	"Content-Security-Policy", "Content-Security-Policy-Report-Only", "X-Frame-Options", "X-Content-Type-Options",
	"Referrer-Policy", "Cross-Origin-Opener-Policy", "Permissions-Policy", "Strict-Transport-Security",
	echo.HeaderXRequestID,
}

func (p *remoteAPI) modifyResponse(resp *http.Response) error {
	h := resp.Header
	for _, name := range upstreamOnlyHeaders {
		h.Del(name)
	}
	for name := range h {
		if strings.HasPrefix(name, "Access-Control-") {
			h.Del(name)
		}
	}
	if h.Get(echo.HeaderCacheControl) == "" {
		h.Set(echo.HeaderCacheControl, "no-store")
	}
	if loc := h.Get(echo.HeaderLocation); loc != "" {
		h.Set(echo.HeaderLocation, p.publicLocation(loc))
	}
	if mt, _, _ := mime.ParseMediaType(h.Get(echo.HeaderContentType)); mt == "text/event-stream" {
		// The server's write timeout would cut an event stream, which lasts
		// as long as the upstream and the browser keep it open. (Its read
		// deadline ends once the request is read.)
		_ = http.NewResponseController(callOf(resp.Request).w).SetWriteDeadline(time.Time{})
	}
	return nil
}

// publicLocation maps a redirect to a place under the upstream's base back
// under the prefix, so that the browser (fetch follows redirects) stays on
// the BFF; any other Location passes unchanged.
func (p *remoteAPI) publicLocation(loc string) string {
	u, err := url.Parse(loc)
	up := p.api.Upstream
	switch {
	case err != nil:
		return loc
	case u.Host == "" && strings.HasPrefix(u.Path, "/"): // on the upstream's host
	case u.Host == up.Host && (u.Scheme == up.Scheme || u.Scheme == ""):
	default:
		return loc
	}
	rest, ok := strings.CutPrefix(u.Path, up.Path)
	if !ok || rest != "" && rest[0] != '/' {
		return loc
	}
	return (&url.URL{Path: p.api.Prefix + rest, RawQuery: u.RawQuery, Fragment: u.Fragment}).String()
}

// proxyError keeps the failure for serve to return, so that Echo's error
// handler answers with the JSON error shape.
func (p *remoteAPI) proxyError(_ http.ResponseWriter, r *http.Request, err error) {
	call := callOf(r)
	switch {
	case errors.As(err, new(*http.MaxBytesError)):
		call.err = errPayloadTooLarge()
	case r.Context().Err() != nil:
		// The browser went away: nobody is left to answer.
	default:
		call.err = &apiError{code: codeUpstreamUnavailable,
			message: "The service behind this API is unavailable. Please try again in a moment.",
			cause:   fmt.Errorf("remote API %s: %w", p.api.Prefix, err)}
	}
}

func errPayloadTooLarge() *apiError {
	return &apiError{code: codePayloadTooLarge, message: "The request body is too large."}
}
