package diagnose

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/olumi/isl/service/app"
	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/internal/redistest"
	"github.com/olumi/isl/service/internal/testenv"
)

func lookup(kv map[string]string) config.Lookup {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

// startApp runs the real service on 127.0.0.1:0 with the given environment.
func startApp(t *testing.T, kv map[string]string) string {
	t.Helper()
	cfg, err := config.FromLookup(lookup(kv))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, app.NewLogger(io.Discard, "ERROR"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

func production(rs *redistest.Server) map[string]string {
	return map[string]string{
		"ENV": "production", "SECRET_KEY": "s3cret", "API_KEYS": "key-one,key-two",
		"REDIS_HOST": "127.0.0.1", "REDIS_PORT": strconv.Itoa(rs.Port), "REDIS_PASSWORD": rs.Password,
	}
}

func byCheck(rs []Result) map[string]Result {
	m := map[string]Result{}
	for _, r := range rs {
		if _, dup := m[r.Check]; !dup {
			m[r.Check] = r
		}
	}
	return m
}

func run(t *testing.T, o Options) (map[string]Result, string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o.Timeout = 2 * time.Second
	rs := Run(ctx, o)
	var b bytes.Buffer
	failed := Print(&b, rs)
	return byCheck(rs), b.String(), failed
}

func wantStatus(t *testing.T, got map[string]Result, out string, want map[string]Status) {
	t.Helper()
	for check, st := range want {
		if got[check].Status != st {
			t.Errorf("%s: %s, want %s\n%s", check, got[check].Status, st, out)
		}
	}
}

func TestHealthyProductionStack(t *testing.T) {
	rs := redistest.Start(t)
	env := production(rs)
	url := startApp(t, env)
	got, out, failed := run(t, Options{Lookup: lookup(env), URL: url})
	if failed {
		t.Fatalf("healthy stack failed:\n%s", out)
	}
	wantStatus(t, got, out, map[string]Status{"config": OK, "redis": OK, "health": OK, "metrics": OK, "api key": OK})
	if _, ok := got["api auth"]; ok {
		t.Errorf("key enforcement reported missing:\n%s", out)
	}
	// redistest runs without AOF: diagnose says beliefs would not survive a restart.
	wantStatus(t, got, out, map[string]Status{"redis persistence": Warn})
	if !strings.Contains(got["redis"].Detail, "PING 127.0.0.1:"+strconv.Itoa(rs.Port)+": median") {
		t.Errorf("redis detail %q", got["redis"].Detail)
	}
}

func TestFailures(t *testing.T) {
	rs := redistest.Start(t)
	env := production(rs)
	url := startApp(t, env)
	t.Run("production keys missing", func(t *testing.T) {
		e := map[string]string{"ENV": "production", "REDIS_HOST": "127.0.0.1", "REDIS_PORT": strconv.Itoa(rs.Port)}
		got, out, failed := run(t, Options{Lookup: lookup(e), URL: url, APIKey: "key-one"})
		if !failed || got["config"].Status != Fail || got["config"].Detail != "ENV=production but missing: SECRET_KEY, REDIS_PASSWORD, API_KEYS" {
			t.Fatalf("config: %+v\n%s", got["config"], out)
		}
		// The remaining checks still run on the lenient reading: Redis refuses the missing password.
		if got["redis"].Status != Fail || !strings.Contains(got["redis"].Fix, "REDIS_PASSWORD") {
			t.Errorf("redis: %+v", got["redis"])
		}
		wantStatus(t, got, out, map[string]Status{"health": OK, "api key": OK})
	})
	t.Run("bad value", func(t *testing.T) {
		e := map[string]string{"PORT": "http", "LOG_LEVEL": "LOUD"}
		got, out, failed := run(t, Options{Lookup: lookup(e), URL: url})
		if !failed || got["config"].Status != Fail || !strings.Contains(got["config"].Detail, `PORT="http"`) || !strings.Contains(got["config"].Detail, "LOG_LEVEL") {
			t.Fatalf("config: %+v\n%s", got["config"], out)
		}
	})
	t.Run("wrong redis password", func(t *testing.T) {
		e := production(rs)
		e["REDIS_PASSWORD"] = "nope"
		got, out, failed := run(t, Options{Lookup: lookup(e), URL: url})
		if !failed || got["redis"].Status != Fail || !strings.Contains(got["redis"].Fix, "requirepass") {
			t.Fatalf("redis: %+v\n%s", got["redis"], out)
		}
	})
	t.Run("redis not listening", func(t *testing.T) {
		e := production(rs)
		e["REDIS_PORT"] = strconv.Itoa(testenv.FreePort(t))
		got, out, failed := run(t, Options{Lookup: lookup(e), URL: url})
		if !failed || got["redis"].Status != Fail || !strings.Contains(got["redis"].Fix, "start Redis") {
			t.Fatalf("redis: %+v\n%s", got["redis"], out)
		}
	})
	t.Run("wrong api key", func(t *testing.T) {
		got, out, failed := run(t, Options{Lookup: lookup(env), URL: url, APIKey: "not-a-key"})
		if !failed || got["api key"].Status != Fail || !strings.Contains(got["api key"].Detail, "401") {
			t.Fatalf("api key: %+v\n%s", got["api key"], out)
		}
	})
	t.Run("no key configured locally", func(t *testing.T) {
		e := map[string]string{"REDIS_HOST": "127.0.0.1", "REDIS_PORT": strconv.Itoa(rs.Port), "REDIS_PASSWORD": rs.Password}
		got, out, failed := run(t, Options{Lookup: lookup(e), URL: url})
		if !failed || got["api key"].Status != Fail || !strings.Contains(got["api key"].Fix, "--api-key") {
			t.Fatalf("api key: %+v\n%s", got["api key"], out)
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		got, out, failed := run(t, Options{Lookup: lookup(env), URL: "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))})
		if !failed || got["health"].Status != Fail || got["metrics"].Status != Warn || got["api key"].Status != Warn {
			t.Fatalf("%s", out)
		}
	})
	t.Run("not ISL", func(t *testing.T) {
		// Redis' port speaks RESP, not HTTP.
		got, out, failed := run(t, Options{Lookup: lookup(env), URL: "http://" + rs.Addr})
		if !failed || got["health"].Status != Fail {
			t.Fatalf("%s", out)
		}
	})
}

func TestDegradedAndOpen(t *testing.T) {
	rs := redistest.Start(t)
	env := map[string]string{"REDIS_HOST": "127.0.0.1", "REDIS_PORT": strconv.Itoa(rs.Port), "REDIS_PASSWORD": rs.Password, "ENABLE_MONITORING": "false"}
	url := startApp(t, env)
	got, out, failed := run(t, Options{Lookup: lookup(env), URL: url})
	if failed {
		t.Fatalf("open dev service must not fail:\n%s", out)
	}
	wantStatus(t, got, out, map[string]Status{"config auth": Warn, "metrics": Warn, "api key": OK})
	rs.Stop()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, out, failed = run(t, Options{Lookup: lookup(env), URL: url})
		if got["health"].Status == Warn || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !failed || got["redis"].Status != Fail || got["health"].Status != Warn || !strings.Contains(got["health"].Detail, "degraded") {
		t.Fatalf("redis down:\n%s", out)
	}
}

func TestMainExitStatus(t *testing.T) {
	rs := redistest.Start(t)
	env := production(rs)
	url := startApp(t, env)
	dir := t.TempDir()
	envFile := filepath.Join(dir, ".env")
	var lines []string
	for k, v := range env {
		lines = append(lines, k+"="+v)
	}
	if err := os.WriteFile(envFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range config.Keys { // the process environment wins over the file: keep it out of the way
		if v, ok := os.LookupEnv(k); ok {
			t.Setenv(k, v)
			os.Unsetenv(k)
		}
	}
	var out bytes.Buffer
	if code := Main([]string{"--url", url, "--env-file", envFile, "--timeout", "2s"}, "", &out, io.Discard); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	out.Reset()
	if code := Main([]string{"--url", url, "--env-file", envFile, "--api-key", "wrong"}, "", &out, io.Discard); code != 1 || !strings.Contains(out.String(), "diagnose: FAIL") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	if code := Main([]string{"--bogus"}, "", &out, io.Discard); code != 2 {
		t.Fatalf("usage exit %d", code)
	}
}

// Against another host the local configuration and Redis are not the target's: they are not
// checked (a broken local .env must not FAIL a healthy remote), and the output says so.
func TestRemoteTargetSkipsLocalChecks(t *testing.T) {
	url := startApp(t, map[string]string{"API_KEYS": "remote-key"})
	local := map[string]string{"ENV": "production", "REDIS_HOST": "127.0.0.1", "REDIS_PORT": strconv.Itoa(testenv.FreePort(t))}
	got, out, failed := run(t, Options{Lookup: lookup(local), URL: url, APIKey: "remote-key", Remote: true})
	if failed {
		t.Fatalf("a healthy remote failed because of the local config:\n%s", out)
	}
	for _, check := range []string{"config", "config auth", "redis", "redis persistence"} {
		if _, ok := got[check]; ok {
			t.Errorf("remote mode printed the local %q check:\n%s", check, out)
		}
	}
	wantStatus(t, got, out, map[string]Status{"target": Info, "health": OK, "metrics": OK, "api key": OK})
	if !strings.Contains(got["target"].Detail, "not checked") {
		t.Errorf("target line %q", got["target"].Detail)
	}
	// The same local settings in local mode are reported (and fail).
	if _, out, failed := run(t, Options{Lookup: lookup(local), URL: url, APIKey: "remote-key"}); !failed || !strings.Contains(out, "ENV=production but missing") {
		t.Errorf("local mode hid the local config:\n%s", out)
	}
}

func TestTargetURL(t *testing.T) {
	for _, tc := range []struct {
		in, url string
		remote  bool
		bad     bool
	}{
		{in: "localhost:8000", url: "http://localhost:8000"},
		{in: "127.0.0.1:8001/", url: "http://127.0.0.1:8001"},
		{in: "http://[::1]:8000", url: "http://[::1]:8000"},
		{in: "https://isl.example.com", url: "https://isl.example.com", remote: true},
		{in: "pilot.internal:443", url: "http://pilot.internal:443", remote: true},
		{in: "http://10.0.0.5:8000", url: "http://10.0.0.5:8000", remote: true},
		{in: "ftp://isl.example.com", bad: true},
		{in: "http://", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			u, remote, err := TargetURL(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted: %q", u)
				}
				return
			}
			if err != nil || u != tc.url || remote != tc.remote {
				t.Fatalf("got %q remote=%v err=%v, want %q remote=%v", u, remote, err, tc.url, tc.remote)
			}
		})
	}
}

func TestMainUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"--help"}, "", &out, &errb); code != 0 || !strings.Contains(errb.String(), "-url") {
		t.Fatalf("--help: exit %d, %q", code, errb.String())
	}
	if code := Main([]string{"--url", "ftp://x"}, "", &out, io.Discard); code != 2 {
		t.Fatalf("bad scheme: exit %d", code)
	}
	// A scheme-less loopback URL is taken as http:// (the service answers there).
	url := startApp(t, nil)
	t.Setenv("ENV", "development")
	out.Reset()
	if code := Main([]string{"--url", strings.TrimPrefix(url, "http://"), "--env-file", ""}, "", &out, io.Discard); code != 0 || !strings.Contains(out.String(), "OK    health") {
		t.Fatalf("scheme-less --url: exit %d\n%s", code, out.String())
	}
}
