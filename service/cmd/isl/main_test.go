package main

import (
	"bytes"
	"strings"
	"testing"
)

// ENV=production without its secrets must not start (non-zero exit).
func TestServeRefusesProductionWithoutSecrets(t *testing.T) {
	t.Chdir(t.TempDir()) // no .env here
	t.Setenv("ENV", "production")
	t.Setenv("SECRET_KEY", "")
	t.Setenv("REDIS_PASSWORD", "")
	t.Setenv("API_KEYS", "")
	if code := serve(); code == 0 {
		t.Fatal("serve() started in production without secrets")
	}
}

func TestInfoCommands(t *testing.T) {
	for _, tc := range []struct {
		cmd      string
		code     int
		out, err string
	}{
		{"--help", 0, "usage: isl", ""},
		{"-h", 0, "usage: isl", ""},
		{"help", 0, "diagnose", ""},
		{"version", 0, ".", ""},
		{"bogus", 2, "", `unknown command "bogus"`},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := info(tc.cmd, &out, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			if !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
				t.Fatalf("stdout %q stderr %q", out.String(), errb.String())
			}
			if tc.code == 0 && errb.Len() > 0 {
				t.Fatalf("stderr on success: %q", errb.String())
			}
		})
	}
}
