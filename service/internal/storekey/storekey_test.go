package storekey

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/olumi/isl/service/isl"
)

func TestUser(t *testing.T) {
	// SHA-256("alice"), computed independently with sha256sum.
	if got, want := User("alice"), "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90"; got != want {
		t.Errorf("User(alice) = %s, want %s", got, want)
	}
}

func TestQuery(t *testing.T) {
	tests := []struct {
		in, want string
		invalid  bool
	}{
		{in: "query_003_1a2b3c4d", want: "query_003_1a2b3c4d"},
		{in: "", want: ""},
		{in: "A-z.0_9", want: "A-z.0_9"},
		{in: strings.Repeat("q", 128), want: strings.Repeat("q", 128)},
		{in: strings.Repeat("q", 129), invalid: true},
		{in: strings.Repeat("é", 129), invalid: true},
		{in: "a:b", want: "%" + User("a:b")},
		{in: "*", want: "%" + User("*")},
		{in: strings.Repeat("é", 128), want: "%" + User(strings.Repeat("é", 128))},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Query(tc.in)
			var e *isl.Error
			if tc.invalid {
				if !errors.As(err, &e) || e.Code != isl.EValidation {
					t.Fatalf("Query = %q, %v; want validation error", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Query = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

var safe = regexp.MustCompile(`^([A-Za-z0-9_.-]*|%[0-9a-f]{64})$`)

func FuzzQuery(f *testing.F) {
	for _, s := range []string{"query_000_abc", "a:b*", "", "%00", strings.Repeat("x", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got, err := Query(id)
		if err != nil {
			return
		}
		if !safe.MatchString(got) {
			t.Fatalf("Query(%q) = %q: not key-safe", id, got)
		}
		if got[0:min(1, len(got))] != "%" && got != id {
			t.Fatalf("plain id %q changed to %q", id, got)
		}
	})
}

func TestResponse(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	tests := []struct{ in, want string }{
		{`"A"`, `{"query_id":"q:1","response":"A","timestamp":"2026-01-02T02:04:05Z"}`},
		{`indifferent`, `{"query_id":"q:1","response":"indifferent","timestamp":"2026-01-02T02:04:05Z"}`},
		{`{"choice": "B"}`, `{"query_id":"q:1","response":{"choice":"B"},"timestamp":"2026-01-02T02:04:05Z"}`},
	}
	for _, tc := range tests {
		if got := string(Response("q:1", []byte(tc.in), at)); got != tc.want {
			t.Errorf("Response(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
