// Package jsonlog is the service's log handler (docs/api.md#observability): slog's JSONHandler
// with the built-in keys named timestamp, level and message, and a fast path that writes the same
// bytes for the records the service logs on every request.
//
// slog's handler is general: every attribute goes through ReplaceAttr and a per-kind switch, and
// every float through encoding/json. Under load that was 9-11 % of the server CPU of POST
// causal/validate (pprof), as much as the identification itself. The fast path takes a record
// whose attributes are all strings, integers, finite floats, booleans or durations, under no
// group, and renders it directly; anything else (groups, times, errors, Any values, LogValuers,
// empty keys, NaN) goes to slog's own handler, which shares the writer and its lock. Tests hold
// the fast path to slog's output byte for byte.
package jsonlog

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/olumi/isl/service/internal/jsonesc"
)

// Handler is a slog.Handler writing one JSON object per line.
type Handler struct {
	slow   slog.Handler // slog's JSONHandler over the same writer: the reference and the fallback
	out    *lockedWriter
	prefix []byte // the WithAttrs attributes, rendered: `,"logger":"isl"`
	fast   bool   // false under a group or after WithAttrs of an attribute the fast path leaves out
}

// New returns a Handler writing to w the records at level and above.
func New(w io.Writer, level slog.Leveler) *Handler {
	out := &lockedWriter{w: w}
	return &Handler{slow: slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level, ReplaceAttr: renameBuiltIns}), out: out, fast: true}
}

// renameBuiltIns gives the built-in attributes the contract's names (slog passes every attribute
// through it, so an attribute of the record named time or msg is renamed too).
func renameBuiltIns(_ []string, a slog.Attr) slog.Attr {
	switch a.Key {
	case slog.TimeKey:
		a.Key = "timestamp"
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}

// lockedWriter serialises the fast path's writes with slog's (which holds its own lock meanwhile).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.slow.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := &Handler{slow: h.slow.WithAttrs(attrs), out: h.out, fast: h.fast}
	if c.fast {
		prefix, ok := append([]byte(nil), h.prefix...), true
		for _, a := range attrs {
			if prefix, ok = appendAttr(prefix, a); !ok {
				break
			}
		}
		c.prefix, c.fast = prefix, ok
	}
	return c
}

// WithGroup implements slog.Handler. Like slog's handler it opens even a group with no name
// (slog.Logger.WithGroup is what skips those).
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{slow: h.slow.WithGroup(name), out: h.out}
}

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if !h.fast || r.Time.IsZero() || r.Time.Year() < 0 || r.Time.Year() > 9999 {
		return h.slow.Handle(ctx, r)
	}
	bp := buffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 16<<10 { // large lines are rare: do not keep their buffers
			buffers.Put(bp)
		}
	}()
	b := append((*bp)[:0], `{"timestamp":"`...)
	b = r.Time.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":`...)
	b = appendString(b, r.Level.String())
	b = append(b, `,"message":`...)
	b = appendString(b, r.Message)
	b = append(b, h.prefix...)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, a)
		return ok
	})
	if !ok {
		*bp = b
		return h.slow.Handle(ctx, r)
	}
	b = append(b, "}\n"...)
	*bp = b
	_, err := h.out.Write(b)
	return err
}

// appendAttr appends `,"key":value` and reports whether the fast path renders a as slog does.
func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	switch a.Key {
	case "":
		return b, false // slog drops an empty attribute and keeps an empty key with a value
	case slog.TimeKey, slog.MessageKey:
		return b, false // renamed by renameBuiltIns
	}
	n := len(b)
	b = append(b, ',')
	b = appendString(b, a.Key)
	b = append(b, ':')
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		b = appendString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b[:n], false
		}
		b = appendFloat(b, f)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = strconv.AppendInt(b, int64(v.Duration()), 10)
	default:
		return b[:n], false
	}
	return b, true
}

// appendFloat formats f as encoding/json does (slog's JSONHandler calls it for floats).
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString appends s quoted and escaped as slog's JSONHandler does.
func appendString(b []byte, s string) []byte { return jsonesc.Slog.Append(b, s) }
