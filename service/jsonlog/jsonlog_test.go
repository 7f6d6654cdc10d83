package jsonlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// reference is slog's own handler with the same options: what the fast path must reproduce.
func reference(w *bytes.Buffer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: renameBuiltIns})
}

// The request line, as docs/api.md#observability shows it.
func TestRequestLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(New(&buf, slog.LevelInfo)).With("logger", "isl")
	r := slog.NewRecord(time.Date(2026, 12, 1, 22, 33, 37, 429019970, time.UTC), slog.LevelInfo, "request_completed", 0)
	r.AddAttrs(slog.String("method", "POST"), slog.String("endpoint", "/api/v1/preferences/elicit"), slog.Int("status", 200),
		slog.Float64("duration_ms", 1.12), slog.String("client", "127.0.0.1:55864"), slog.String("request_id", "ff37cf3461434394-55ee"))
	if err := log.Handler().Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	want := `{"timestamp":"2026-12-01T22:33:37.42901997Z","level":"INFO","message":"request_completed","logger":"isl",` +
		`"method":"POST","endpoint":"/api/v1/preferences/elicit","status":200,"duration_ms":1.12,"client":"127.0.0.1:55864","request_id":"ff37cf3461434394-55ee"}` + "\n"
	if buf.String() != want {
		t.Fatalf("got  %s\nwant %s", buf.String(), want)
	}
	if log.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("DEBUG enabled at INFO")
	}
}

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("resolved") }

var keys = []string{"a", "status", "duration_ms", "", "time", "msg", "level", "logger", `q"uote`, `back\slash`, "tab\t", "nl\n",
	"ctl\x01\x1f", "ünï", "\u2028sep\u2029", "bad\xffutf8", "<html>&", "emoji😀", "\x7f"}

func randString(r *rand.Rand) string {
	parts := []string{"", "x", "POST", "/api/v1/causal/validate", `"`, `\`, "\n", "\r", "\t", "\x00", "\x19", "é", "\u2028", "\u2029",
		"\xff", "\xe2\x82", "<>&", "😀", "\x7f", " ", "127.0.0.1:55864"}
	var sb strings.Builder
	for range r.IntN(6) {
		sb.WriteString(parts[r.IntN(len(parts))])
	}
	return sb.String()
}

var floats = []float64{0, -0.0, 1.12, 0.01, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 1.5e300, -2.5e-9, 123456789.125, math.MaxFloat64,
	math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 1.0 / 3}

func randAttr(r *rand.Rand) slog.Attr {
	k := keys[r.IntN(len(keys))]
	switch r.IntN(12) {
	case 0:
		return slog.Int(k, r.IntN(2000)-1000)
	case 1:
		return slog.Int64(k, math.MinInt64+int64(r.IntN(3)))
	case 2:
		return slog.Uint64(k, math.MaxUint64-uint64(r.IntN(3)))
	case 3:
		return slog.Float64(k, floats[r.IntN(len(floats))])
	case 4:
		return slog.Float64(k, r.NormFloat64()*math.Pow(10, float64(r.IntN(50)-25)))
	case 5:
		return slog.Bool(k, r.IntN(2) == 0)
	case 6:
		return slog.Duration(k, time.Duration(r.Int64N(1e12)))
	case 7:
		return slog.Time(k, time.Unix(r.Int64N(4e9), r.Int64N(1e9)))
	case 8:
		return slog.Any(k, errors.New(randString(r)))
	case 9:
		return slog.Any(k, valuer{})
	case 10:
		return slog.Group(k, slog.String("in", randString(r)))
	case 11:
		if r.IntN(4) == 0 {
			return slog.Attr{}
		}
	}
	return slog.String(k, randString(r))
}

// The fast path writes what slog's handler writes, for random records and handler chains; the
// records it cannot render (groups, times, errors, LogValuers, NaN, renamed or empty keys) reach
// slog itself.
func TestSameBytesAsSlog(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	levels := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelInfo + 2, slog.LevelError + 4, -8}
	times := []time.Time{time.Date(2026, 12, 1, 22, 33, 37, 429019970, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2026, 6, 1, 12, 0, 0, 500000000, time.FixedZone("CEST", 2*3600)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), {},
		time.Now()}
	fast := 0
	for i := range 20000 {
		var got, want bytes.Buffer
		var h, ref slog.Handler = New(&got, slog.LevelDebug), reference(&want, slog.LevelDebug)
		for range r.IntN(3) {
			if r.IntN(8) == 0 {
				g := keys[r.IntN(len(keys))]
				h, ref = h.WithGroup(g), ref.WithGroup(g)
				continue
			}
			as := []slog.Attr{randAttr(r)}
			h, ref = h.WithAttrs(as), ref.WithAttrs(as)
		}
		rec := slog.NewRecord(times[r.IntN(len(times))], levels[r.IntN(len(levels))], randString(r), 0)
		for range r.IntN(8) {
			rec.AddAttrs(randAttr(r))
		}
		errGot, errWant := h.Handle(context.Background(), rec.Clone()), ref.Handle(context.Background(), rec.Clone())
		if got.String() != want.String() || (errGot == nil) != (errWant == nil) {
			t.Fatalf("record %d:\ngot  %q (%v)\nwant %q (%v)", i, got.String(), errGot, want.String(), errWant)
		}
		if hh, ok := h.(*Handler); ok && hh.fast {
			fast++
		}
	}
	if fast < 5000 {
		t.Fatalf("only %d of 20000 handler chains on the fast path: the test no longer exercises it", fast)
	}
}

// Arbitrary strings, keys and floats: the fast path's escaping and number formatting are slog's.
func FuzzSameBytesAsSlog(f *testing.F) {
	f.Add("request_completed", "client", "127.0.0.1:1", 1.12, int64(200))
	f.Add("\u2028\xff\"\\\n", "k\x00", "<&>", 1e-7, int64(-1))
	f.Fuzz(func(t *testing.T, msg, key, val string, fl float64, n int64) {
		var got, want bytes.Buffer
		at := time.Date(2026, 12, 1, 0, 0, 0, 1, time.UTC)
		for _, h := range []slog.Handler{New(&got, slog.LevelInfo), reference(&want, slog.LevelInfo)} {
			h = h.WithAttrs([]slog.Attr{slog.String(key, val)})
			rec := slog.NewRecord(at, slog.LevelInfo, msg, 0)
			rec.AddAttrs(slog.String(val, key), slog.Float64(key, fl), slog.Int64(val, n))
			_ = h.Handle(context.Background(), rec)
		}
		if got.String() != want.String() {
			t.Fatalf("got  %q\nwant %q", got.String(), want.String())
		}
	})
}

// Concurrent records through the fast path and slog's (a group) come out as whole lines.
func TestConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	h := New(&buf, slog.LevelInfo)
	grouped := h.WithGroup("g")
	done := make(chan struct{})
	for w := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				l := slog.New(h)
				if w%2 == 0 {
					l = slog.New(grouped)
				}
				l.Info("line", "w", w, "i", i, "pad", strings.Repeat("x", 100))
			}
		}()
	}
	for range 8 {
		<-done
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1600 {
		t.Fatalf("%d lines, want 1600", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"timestamp":"`) || !strings.HasSuffix(l, `}`) || strings.Count(l, "timestamp") != 1 {
			t.Fatalf("torn line %q", l)
		}
	}
}

func BenchmarkRequestLine(b *testing.B) {
	for _, c := range []struct {
		name string
		h    func(*bytes.Buffer) slog.Handler
	}{
		{"slog", func(w *bytes.Buffer) slog.Handler { return reference(w, slog.LevelInfo) }},
		{"jsonlog", func(w *bytes.Buffer) slog.Handler { return New(w, slog.LevelInfo) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var buf bytes.Buffer
			log := slog.New(c.h(&buf)).With("logger", "isl")
			ctx := context.Background()
			b.ReportAllocs()
			for i := range b.N {
				if buf.Len() > 1<<20 {
					buf.Reset()
				}
				log.LogAttrs(ctx, slog.LevelInfo, "request_completed", slog.String("method", "POST"),
					slog.String("endpoint", "/api/v1/causal/validate"), slog.Int("status", 200),
					slog.Float64("duration_ms", float64(i%1000)/100), slog.String("client", "127.0.0.1:55864"),
					slog.String("request_id", fmt.Sprint("ff37cf3461434394-", i%100)))
			}
		})
	}
}
