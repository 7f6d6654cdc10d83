package main

import (
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
