package jsonesc

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
)

// slogString is how slog's JSONHandler writes s as a value.
func slogString(t testing.TB, s string) string {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey {
			return slog.Attr{}
		}
		return a
	}})).Info("", "v", s)
	out := strings.TrimSuffix(buf.String(), "\n")
	if !strings.HasPrefix(out, `{"v":`) || !strings.HasSuffix(out, "}") {
		t.Fatalf("unexpected slog line %q", out)
	}
	return out[len(`{"v":`) : len(out)-1]
}

func check(t testing.TB, s string) {
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := JSON.Append(nil, s); !bytes.Equal(got, want) {
		t.Fatalf("JSON %q: got %s, want %s", s, got, want)
	}
	if got, want := string(Slog.Append(nil, s)), slogString(t, s); got != want {
		t.Fatalf("Slog %q: got %s, want %s", s, got, want)
	}
}

// Every byte alone and in random mixes with the characters the styles treat differently.
func TestSameAsTheLibraries(t *testing.T) {
	for c := range 256 {
		check(t, string([]byte{byte(c)}))
		check(t, "a"+string([]byte{byte(c)})+"b")
	}
	parts := []string{"", "plain", `"`, `\`, "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "<", ">", "&", "é", "\u2028",
		"\u2029", "\xff", "\xe2\x80", "😀", "\U0010ffff"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		var sb strings.Builder
		for range r.IntN(8) {
			sb.WriteString(parts[r.IntN(len(parts))])
		}
		check(t, sb.String())
	}
}

func FuzzSameAsTheLibraries(f *testing.F) {
	f.Add("<a href=\"x\">\b\f\u2028\xff</a>")
	f.Fuzz(func(t *testing.T, s string) { check(t, s) })
}
