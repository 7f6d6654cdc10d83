package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func lookup(kv map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8000 || c.Host != "0.0.0.0" || c.APIPrefix != "/api/v1" || c.MaxMonteCarlo != 10000 || c.RedisHost != "" || !c.EnableMonitoring || c.RequestTimeout != 30*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	if c.RedisAddr() != "" {
		t.Fatal("no REDIS_HOST must select the in-memory store")
	}
}

func TestProductionRefusesToStartHalfConfigured(t *testing.T) {
	_, err := FromLookup(lookup(map[string]string{"ENV": "production"}))
	if err == nil {
		t.Fatal("production without secrets must fail")
	}
	for _, k := range []string{"SECRET_KEY", "REDIS_PASSWORD", "API_KEYS"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not name %s: %v", k, err)
		}
	}
	c, err := FromLookup(lookup(map[string]string{"ENV": "production", "SECRET_KEY": "s", "REDIS_PASSWORD": "p", "API_KEYS": "a,b", "REDIS_HOST": "redis"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.APIKeys) != 2 || c.RedisAddr() != "redis:6379" {
		t.Fatalf("%+v", c)
	}
}

func TestInvalidValues(t *testing.T) {
	for k, v := range map[string]string{"ENV": "prodution", "PORT": "http", "REDIS_DB": "99", "MAX_MONTE_CARLO_ITERATIONS": "1000000", "LOG_LEVEL": "LOUD", "ENABLE_MONITORING": "maybe", "API_V1_PREFIX": "api"} {
		t.Run(k, func(t *testing.T) {
			_, err := FromLookup(lookup(map[string]string{k: v}))
			if err == nil || !strings.Contains(err.Error(), k) {
				t.Fatalf("%s=%s: err %v", k, v, err)
			}
		})
	}
}

func TestDotEnvIgnoresUnknownKeysAndEnvWins(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ".env")
	os.WriteFile(p, []byte("# comment\nexport PORT=9001\nUNKNOWN_THING=1\nREDIS_HOST=\"cache\" \nLOG_LEVEL=debug # inline\nSECRET_KEY='a#b'\n"), 0o600)
	t.Setenv("PORT", "9002")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9002 || c.RedisHost != "cache" || c.LogLevel != "DEBUG" || c.SecretKey != "a#b" {
		t.Fatalf("%+v", c)
	}
	if _, err := Load(filepath.Join(dir, "missing.env")); err != nil {
		t.Fatalf("a missing .env is fine: %v", err)
	}
	os.WriteFile(p, []byte("NOEQUALS\n"), 0o600)
	if _, err := Load(p); err == nil {
		t.Fatal("malformed line must fail")
	}
}

// A quoted value followed by an inline comment keeps its text without the quotes.
func TestDotEnvQuotedValueWithComment(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(p, []byte("REDIS_PASSWORD=\"p w#1\" # prod\nSECRET_KEY='s' \nAPI_KEYS=\"k1,k2\"\nENV=x # y\n"), 0o600)
	got, err := ReadDotEnv(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"REDIS_PASSWORD": "p w#1", "SECRET_KEY": "s", "API_KEYS": "k1,k2", "ENV": "x"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestEnvAcceptsOnlyKnownTiers(t *testing.T) {
	for _, v := range []string{"development", "staging", "production", "Production"} {
		t.Run(v, func(t *testing.T) {
			kv := map[string]string{"ENV": v, "SECRET_KEY": "s", "REDIS_PASSWORD": "p", "API_KEYS": "a", "REDIS_HOST": "r"}
			if _, err := FromLookup(lookup(kv)); err != nil {
				t.Fatalf("ENV=%s: %v", v, err)
			}
		})
	}
	for _, v := range []string{"prodution", "prod", "test", "dev"} {
		t.Run(v, func(t *testing.T) {
			_, err := FromLookup(lookup(map[string]string{"ENV": v}))
			if err == nil || !strings.Contains(err.Error(), "want development, staging or production") {
				t.Fatalf("ENV=%s accepted: %v", v, err)
			}
		})
	}
}
