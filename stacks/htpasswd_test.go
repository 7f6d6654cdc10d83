package stacks

import (
	"os/exec"
	"strings"
	"testing"
)

// APR1 against openssl's implementation (the oracle), over passwords of every length class.
func TestAPR1MatchesOpenSSL(t *testing.T) {
	openssl := requireBinary(t, "openssl")
	for _, c := range []struct{ pw, salt string }{
		{"a", "abcdefgh"}, {"password", "saltsalt"}, {"0123456789abcdef", "xy"}, {strings.Repeat("p@ss", 10), "Zz./09Aa"}, {"ünïcödé", "s4lt"},
	} {
		out, err := exec.Command(openssl, "passwd", "-apr1", "-salt", c.salt, c.pw).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := APR1(c.pw, c.salt), strings.TrimSpace(string(out)); got != want {
			t.Errorf("APR1(%q, %q) = %s, openssl %s", c.pw, c.salt, got, want)
		}
	}
}

// The same password renders the same file (idempotent deploys); another password, another salt.
func TestRenderHtpasswdDeterministic(t *testing.T) {
	a1, err := RenderHtpasswd("admin", "long-random-secret-1")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := RenderHtpasswd("admin", "long-random-secret-1")
	b, _ := RenderHtpasswd("admin", "long-random-secret-2")
	if string(a1) != string(a2) {
		t.Error("same password, different files")
	}
	if string(a1)[:20] == string(b)[:20] {
		t.Error("different passwords share a salt")
	}
	if !strings.HasPrefix(string(a1), "admin:$apr1$") {
		t.Errorf("htpasswd %q", a1)
	}
	if _, err := RenderHtpasswd("ad:min", "long-random-secret-1"); err == nil {
		t.Error("user with a colon accepted")
	}
	if _, err := RenderHtpasswd("admin", "short"); err == nil {
		t.Error("short password accepted for a fast hash")
	}
}
