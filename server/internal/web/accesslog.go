package web

import (
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// WithAccessLog writes the request log line (one per request; see
// requestLog) straight to out, formatted as slog's JSON handler (json) or
// text handler would format it, instead of through the server's
// slog.Logger. Give it the writer and format of that logger's handler, so
// the lines interleave and read alike.
//
// Why: slog's generic path (the caller's program counter, a record, the
// handler's reflection-free but general formatting) cost about a tenth of
// the CPU of a cheap request such as /healthz when measured with wrk; the
// line written here costs a fraction of that. Other log lines keep going
// through slog. The level check still uses the logger: the line is written
// only when it is enabled at info.
func WithAccessLog(out io.Writer, json bool) Option {
	return func(o *serverOptions) { o.accessLog = &accessLog{out: out, json: json} }
}

// accessLog formats the request line by hand. Every field but the method
// and the client's request id is ours (a route pattern, numbers, our id, an
// IP address parsed by Echo), and those two are cleaned or are HTTP tokens,
// yet every string still goes through the same quoting rules as slog's, so
// a line can never be split or forged.
type accessLog struct {
	out  io.Writer
	json bool
}

type accessLine struct {
	method, route, requestID, clientRequestID, ip string
	status                                        int
	latency                                       time.Duration
	// While tracing, the request's span, as logctx's handler adds them to
	// slog's lines.
	traceID, spanID string
}

var accessBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func (a *accessLog) write(now time.Time, l accessLine) {
	bp := accessBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	if a.json {
		b = append(b, `{"time":"`...)
		b = appendLogTime(b, now)
		b = append(b, `","level":"INFO","msg":"request","method":`...)
		b = appendJSONString(b, l.method)
		b = append(b, `,"route":`...)
		b = appendJSONString(b, l.route)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(l.status), 10)
		b = append(b, `,"latency":`...)
		b = strconv.AppendInt(b, int64(l.latency), 10)
		b = append(b, `,"request_id":`...)
		b = appendJSONString(b, l.requestID)
		if l.clientRequestID != "" {
			b = append(b, `,"client_request_id":`...)
			b = appendJSONString(b, l.clientRequestID)
		}
		b = append(b, `,"ip":`...)
		b = appendJSONString(b, l.ip)
		if l.traceID != "" {
			b = append(b, `,"trace_id":`...)
			b = appendJSONString(b, l.traceID)
			b = append(b, `,"span_id":`...)
			b = appendJSONString(b, l.spanID)
		}
		b = append(b, "}\n"...)
	} else {
		b = append(b, "time="...)
		b = appendLogTime(b, now)
		b = append(b, " level=INFO msg=request method="...)
		b = appendTextString(b, l.method)
		b = append(b, " route="...)
		b = appendTextString(b, l.route)
		b = append(b, " status="...)
		b = strconv.AppendInt(b, int64(l.status), 10)
		b = append(b, " latency="...)
		b = appendTextString(b, l.latency.String())
		b = append(b, " request_id="...)
		b = appendTextString(b, l.requestID)
		if l.clientRequestID != "" {
			b = append(b, " client_request_id="...)
			b = appendTextString(b, l.clientRequestID)
		}
		b = append(b, " ip="...)
		b = appendTextString(b, l.ip)
		if l.traceID != "" {
			b = append(b, " trace_id="...)
			b = appendTextString(b, l.traceID)
			b = append(b, " span_id="...)
			b = appendTextString(b, l.spanID)
		}
		b = append(b, '\n')
	}
	_, _ = a.out.Write(b)
	*bp = b
	accessBuffers.Put(bp)
}

// rfc3339Millis is the time layout of slog's handlers.
const rfc3339Millis = "2006-01-02T15:04:05.000Z07:00"

// appendLogTime appends t as rfc3339Millis does. Formatting the layout was a
// fifth of the line's cost; the date, time of day and zone are the same for a
// whole second, so they are formatted once a second and the milliseconds
// added to them.
func appendLogTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 1000 || y > 9999 {
		return t.AppendFormat(b, rfc3339Millis) // not 4 digits: the slow way
	}
	sec := t.Unix()
	st := lastLogSecond.Load()
	if st == nil || st.unix != sec || st.loc != t.Location() {
		full := t.Format(rfc3339Millis)
		st = &logSecond{unix: sec, loc: t.Location(), date: full[:19], zone: full[23:]}
		lastLogSecond.Store(st)
	}
	ms := t.Nanosecond() / 1e6
	b = append(b, st.date...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, st.zone...)
}

type logSecond struct {
	unix       int64
	loc        *time.Location
	date, zone string
}

var lastLogSecond atomic.Pointer[logSecond]

// appendTextString writes s bare, or quoted with strconv.Quote as slog's
// text handler quotes: when it is empty or has a space, '=', '"' or a control
// character, and (more often than slog, which is harmless) any non-ASCII.
func appendTextString(b []byte, s string) []byte {
	if s == "" {
		return append(b, `""`...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '=' || c == '"' || c >= 0x7f {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...)
}

// appendJSONString writes s as a JSON string. The fields written here are
// plain ASCII in practice; anything else is escaped as \u00XX or passed on
// when it is valid printable UTF-8, and invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else if r == '\u2028' || r == '\u2029' {
				b = append(b, `\u202`...)
				b = append(b, hex[r&0xf])
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < ' ' || c == 0x7f || c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}
