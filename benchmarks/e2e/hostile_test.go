package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/olumi/isl/benchmarks/integration"
	"github.com/olumi/isl/benchmarks/load"
	"github.com/olumi/isl/benchmarks/payloads"
)

// The hostile-load suite: every attack of the hostile-load review, against the pilot topology,
// each with the bound it must stay within measured from outside the processes (/proc of the
// replicas, the wire).

// procStat is a process' resident memory and consumed CPU, from /proc.
type procStat struct {
	rssBytes int64
	cpu      time.Duration
}

func readProc(t *testing.T, pid int) procStat {
	t.Helper()
	var st procStat
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("pid %d: %v", pid, err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			st.rssBytes = kb << 10
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the ")" of the command: utime and stime are fields 14 and 15 of the line.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	st.cpu = time.Duration(ut+stt) * 10 * time.Millisecond // USER_HZ = 100
	return st
}

func (p *pilot) pid(name string) int {
	for _, c := range p.Components {
		if c.Name == name {
			return c.PID
		}
	}
	return 0
}

// sourceClient is an HTTP client whose connections come from a given loopback address, so that
// an attacker (127.0.0.2, …) and the clients it must not hurt (127.0.0.1) are different clients
// to nginx's per-client limits.
func sourceClient(src string, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed local cert
		MaxIdleConnsPerHost: 100}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(c *http.Client, url, key string, body []byte) (int, []byte, time.Duration, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, time.Since(start), err
}

func members(n int, f func(i int) string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f(i))
	}
	return b.String()
}

// hostileCase is one attack with its bounds.
type hostileCase struct {
	name     string
	path     string
	body     []byte
	status   int
	maxBytes int           // response size
	maxTime  time.Duration // time to answer, four at once on a shared CI machine (CPU is bounded separately)
}

func hostileCases() []hostileCase {
	cf := "/api/v1/causal/counterfactual"
	return []hostileCase{
		{"17 900 distributions (OOM-killed every replica)", cf, []byte(`{"model":{"variables":[],"equations":{"Y":"x0"},"distributions":{` +
			members(17_900, func(i int) string { return fmt.Sprintf(`"x%d":{"type":"normal","parameters":{"mean":1,"std":1}}`, i) }) +
			`}},"intervention":{},"outcome":"Y"}`), 422, 4 << 10, 10 * time.Second},
		{"200 equations × 200 distributions at the sample budget", cf, []byte(`{"model":{"variables":[],"equations":{` +
			members(200, func(i int) string { return fmt.Sprintf(`"e%d":"x%d * 2 + x%d"`, i, i, (i+1)%200) }) + `},"distributions":{` +
			members(200, func(i int) string { return fmt.Sprintf(`"x%d":{"type":"normal","parameters":{"mean":1,"std":1}}`, i) }) +
			`}},"intervention":{"x0":1},"outcome":"e0"}`), 200, 64 << 10, 30 * time.Second},
		{"70 000 object keys (quadratic parse)", cf, []byte(`{"model":{"variables":[],"equations":{},"distributions":{}},"intervention":{` +
			members(70_000, func(i int) string { return fmt.Sprintf(`"k%d":%d`, i, i) }) + `},"outcome":"Y","context":"x"}`), 422, 4 << 10, 10 * time.Second},
		{"40 000 violations (81 MB 422)", cf, []byte(`{"model":{"variables":[],"equations":{"Y":"1"},"distributions":{}},"intervention":{` +
			members(40_000, func(i int) string { return fmt.Sprintf(`"w%d":"xxxxxxxx"`, i) }) + `},"outcome":"Y"}`), 422, 32 << 10, 10 * time.Second},
		{"one 1 MB string echoed", "/api/v1/causal/validate", []byte(`{"dag":{"nodes":"` + strings.Repeat("a", 1_000_000) + `","edges":[]},"treatment":1,"outcome":2}`),
			422, 8 << 10, 10 * time.Second},
	}
}

// testHostileInputs sends each hostile body four at a time (four concurrent 1 MB bodies were
// enough to OOM-kill a 1 GiB replica before) through nginx and directly to a replica, and checks
// the answer, its size and time, and from /proc the replicas' memory growth and CPU. Every
// replica must survive.
func testHostileInputs(t *testing.T, p *pilot) {
	const concurrent = 4
	const maxRSSGrowth = 300 << 20
	direct := "http://" + p.addrOf(p.replicas()[0])
	for _, hc := range hostileCases() {
		t.Run(hc.name, func(t *testing.T) {
			before := map[string]procStat{}
			for _, r := range p.replicas() {
				before[r] = readProc(t, p.pid(r))
			}
			for _, base := range []string{p.Endpoint, direct} {
				var wg sync.WaitGroup
				errs := make(chan string, concurrent)
				var slowest atomic.Int64
				var biggest atomic.Int64
				for range concurrent {
					wg.Add(1)
					go func() {
						defer wg.Done()
						status, body, took, err := post(sourceClient("127.0.0.2", time.Minute), base+hc.path, p.APIKey, hc.body)
						if took > time.Duration(slowest.Load()) {
							slowest.Store(int64(took))
						}
						if n := int64(len(body)); n > biggest.Load() {
							biggest.Store(n)
						}
						switch {
						case err != nil:
							errs <- fmt.Sprintf("%s: %v", base, err)
						case status != hc.status || !json.Valid(body):
							errs <- fmt.Sprintf("%s: %d %.300s, want %d", base, status, body, hc.status)
						case len(body) > hc.maxBytes:
							errs <- fmt.Sprintf("%s: %d-byte answer, bound %d", base, len(body), hc.maxBytes)
						case took > hc.maxTime:
							errs <- fmt.Sprintf("%s: answered in %s, bound %s", base, took, hc.maxTime)
						}
					}()
				}
				wg.Wait()
				close(errs)
				for e := range errs {
					t.Error(e)
				}
				t.Logf("%s ×%d: slowest %s, largest answer %d bytes", base, concurrent, time.Duration(slowest.Load()).Round(time.Millisecond), biggest.Load())
			}
			var cpu time.Duration
			for _, r := range p.replicas() {
				after := readProc(t, p.pid(r)) // fails if the replica died
				growth := after.rssBytes - before[r].rssBytes
				cpu += after.cpu - before[r].cpu
				if growth > maxRSSGrowth {
					t.Errorf("%s grew by %d MiB (bound %d MiB)", r, growth>>20, maxRSSGrowth>>20)
				}
				t.Logf("%s: RSS %d MiB (%+d MiB)", r, after.rssBytes>>20, growth>>20)
			}
			t.Logf("CPU of all replicas for %d requests: %s", 2*concurrent, cpu)
			// A refused body costs its parse and its bounded 422: at most half a CPU-second each
			// (the 18.6 CPU-seconds of one quadratic parse before).
			if hc.status != 200 && cpu > 2*concurrent*500*time.Millisecond {
				t.Errorf("%s of CPU for %d refused requests, bound 0.5 s each", cpu, 2*concurrent)
			}
		})
	}
	// Every replica still answers.
	for _, r := range p.replicas() {
		resp, err := http.Get("http://" + p.addrOf(r) + "/health")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s after the hostile inputs: %v", r, err)
		}
		resp.Body.Close()
	}
}

// byEndpoint finds one endpoint's stats.
func byEndpoint(rep load.Report, name string) load.EndpointStats {
	for _, e := range rep.Endpoints {
		if e.Endpoint == name {
			return e
		}
	}
	return load.EndpointStats{}
}

// testRedisOutageUnderLoad stops Redis for 10 s under steady mixed load through nginx: the stateless
// endpoints see no failure at all, the preference endpoints only 503 (retryable), and the
// preference flow works again within 2 s of Redis being back.
func testRedisOutageUnderLoad(t *testing.T, p *pilot, c *integration.Client) {
	var recovered time.Duration
	rep := underLoad(t, p, func() {
		p.stop(t, "redis", "TERM")
		// During the outage a preference call is a retryable 503 envelope, never a 502.
		r, err := c.Post(context.Background(), payloads.Elicit.Path, payloads.ElicitBody("outage-probe"))
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := r.JSON(); r.Status != http.StatusServiceUnavailable || m["retryable"] != true {
			t.Errorf("elicit with Redis down: %d %s", r.Status, r.Raw)
		}
		time.Sleep(10 * time.Second)
		p.start(t, "redis")
		back := time.Now()
		if err := eventually(10*time.Second, func() error {
			_, err := c.Elicit(context.Background(), fmt.Sprintf("outage-after-%d", time.Now().UnixNano()))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		recovered = time.Since(back)
	})
	t.Logf("%d requests in %.1fs; preference flow back %s after Redis", rep.Requests, rep.Seconds, recovered.Round(time.Millisecond))
	if recovered > 2*time.Second {
		t.Errorf("preference endpoints recovered %s after Redis returned, bound 2 s", recovered)
	}
	for _, e := range rep.Endpoints {
		preference := e.Endpoint == payloads.Elicit.Name || e.Endpoint == payloads.Update.Name
		for status, n := range e.Statuses {
			if status == "200" || (preference && status == "503") {
				continue
			}
			t.Errorf("%s: %d answers %s during the Redis outage (errors %v)", e.Endpoint, n, status, e.ErrorKinds)
		}
		t.Logf("%s: %v", e.Endpoint, e.Statuses)
	}
}

// testAllReplicasDown kills every replica under load, then starts them one at a time: nginx answers
// 502 envelopes while none runs and routes again within 3 s of the first one being back.
func testAllReplicasDown(t *testing.T, p *pilot, c *integration.Client) {
	var back time.Duration
	rep := underLoad(t, p, func() {
		for _, r := range p.replicas() {
			p.stop(t, r, "KILL")
		}
		time.Sleep(time.Second)
		r, err := c.Post(context.Background(), payloads.CausalValidate.Path, payloads.CausalValidate.Body())
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := r.JSON(); r.Status != http.StatusBadGateway || m["retryable"] != true || m["error_code"] != "service_unavailable" {
			t.Errorf("no replica: %d %.300s, want the 502 envelope", r.Status, r.Raw)
		}
		first := p.replicas()[0]
		p.start(t, first)
		ready := time.Now()
		if err := eventually(10*time.Second, func() error {
			r, err := c.Post(context.Background(), payloads.CausalValidate.Path, payloads.CausalValidate.Body())
			if err == nil && r.Status != 200 {
				err = fmt.Errorf("status %d", r.Status)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		back = time.Since(ready)
		for _, r := range p.replicas()[1:] {
			p.start(t, r)
		}
	})
	t.Logf("%d requests, %d failed while no replica ran; service back %s after the first replica", rep.Requests, rep.Errors, back.Round(time.Millisecond))
	if back > 3*time.Second {
		t.Errorf("service back %s after the first replica was ready, bound 3 s", back)
	}
	for _, e := range rep.Endpoints {
		for status := range e.Statuses {
			if status != "200" && status != "502" {
				t.Errorf("%s: answers %s (%v)", e.Endpoint, status, e.ErrorKinds)
			}
		}
	}
}

// testContentionIsolated: a burst of concurrent updates of one user (compare-and-swap contention,
// answered 503 retryable once a request lost maxStateAttempts races) from one client does not
// affect any other client: the steady load sees no failure, and no replica is marked down.
func testContentionIsolated(t *testing.T, p *pilot, c *integration.Client) {
	ctx := context.Background()
	user := fmt.Sprintf("contention-%d", time.Now().UnixNano())
	q, err := c.Elicit(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	var contended, okN, other atomic.Int64
	rep := underLoad(t, p, func() {
		burst := sourceClient("127.0.0.3", 30*time.Second)
		var wg sync.WaitGroup
		deadline := time.Now().Add(4 * time.Second)
		for range 48 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					status, body, _, err := post(burst, p.Endpoint+payloads.Update.Path, p.APIKey, payloads.UpdateBody(user, q, "A"))
					switch {
					case err != nil:
						other.Add(1)
					case status == 200:
						okN.Add(1)
					case status == 503 && bytes.Contains(body, []byte(`"retryable":true`)):
						contended.Add(1)
					default:
						other.Add(1)
					}
				}
			}()
		}
		wg.Wait()
	})
	t.Logf("burst on one user: %d answered, %d contention 503s, %d other", okN.Load(), contended.Load(), other.Load())
	if other.Load() != 0 {
		t.Errorf("%d burst requests failed other than with a retryable 503", other.Load())
	}
	requireNoFailures(t, rep)
}

// testSlowClients opens a few thousand slowloris (trickled headers) and slow-body connections from
// other client addresses for 20 s; /health through nginx keeps answering all along, nginx closes
// the header tricklers at client_header_timeout whatever they send, and one address may hold only
// its per-client share of request slots.
func testSlowClients(t *testing.T, p *pilot) {
	// bodyConns from one address exceed nginx's per-client limit (128 requests in progress).
	const headerConns, bodyConns, perClient = 1500, 200, 128
	plainAddr := strings.TrimPrefix(p.HTTPURL, "http://")
	tlsAddr := strings.TrimPrefix(p.Endpoint, "https://")
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	var opened, closedEarly, refused429 atomic.Int64
	var closedAt sync.Map
	var wg sync.WaitGroup
	trickle := func(src string, i int, useTLS bool, head string, each string) {
		defer wg.Done()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		var conn net.Conn
		var err error
		if useTLS {
			conn, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{InsecureSkipVerify: true}}).DialContext(ctx, "tcp", tlsAddr) //nolint:gosec // self-signed local cert
		} else {
			conn, err = d.DialContext(ctx, "tcp", plainAddr)
		}
		if err != nil {
			return
		}
		defer conn.Close()
		opened.Add(1)
		start := time.Now()
		if _, err := io.WriteString(conn, head); err != nil {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			r := bufio.NewReader(conn)
			line, err := r.ReadString('\n')
			if err == nil && strings.Contains(line, " 429 ") {
				refused429.Add(1)
			}
			_, _ = io.Copy(io.Discard, r)
			closedAt.Store(fmt.Sprint(src, i), time.Since(start))
		}()
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				closedEarly.Add(1)
				return
			case <-tick.C:
				if _, err := io.WriteString(conn, each); err != nil {
					<-done
					closedEarly.Add(1)
					return
				}
			}
		}
	}
	for i := range headerConns {
		wg.Add(1)
		go trickle("127.0.0.4", i, false, "GET /health HTTP/1.1\r\nHost: x\r\n", "X-a: b\r\n")
	}
	for i := range bodyConns {
		wg.Add(1)
		go trickle("127.0.0.5", i, true, "POST /api/v1/causal/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-Key: "+p.APIKey+"\r\nContent-Length: 100000\r\n\r\n", " ")
	}
	// Meanwhile, a legitimate client polls /health through nginx.
	good := sourceClient("127.0.0.1", 5*time.Second)
	var okN, failN int
	var firstFail string
	for ctx.Err() == nil {
		r, err := good.Get(p.Endpoint + "/health")
		if err == nil && r.StatusCode == 200 {
			okN++
		} else {
			failN++
			if firstFail == "" {
				firstFail = fmt.Sprint(err, r)
			}
		}
		if r != nil {
			r.Body.Close()
		}
		time.Sleep(200 * time.Millisecond)
	}
	wg.Wait()
	var headerClosed, headerLate int
	closedAt.Range(func(k, v any) bool {
		if strings.HasPrefix(k.(string), "127.0.0.4") {
			headerClosed++
			if v.(time.Duration) > 15*time.Second {
				headerLate++
			}
		}
		return true
	})
	t.Logf("%d slow connections opened; /health %d ok, %d failed; %d of %d header tricklers closed by nginx (%d after 15 s); %d slow bodies refused 429",
		opened.Load(), okN, failN, headerClosed, headerConns, headerLate, refused429.Load())
	if opened.Load() < headerConns+bodyConns/2 {
		t.Errorf("only %d of %d slow connections opened: the test did not load nginx", opened.Load(), headerConns+bodyConns)
	}
	if failN > 0 || okN < 50 {
		t.Errorf("/health through nginx: %d ok, %d failed during the slow-client attack (first: %s)", okN, failN, firstFail)
	}
	if headerClosed < headerConns*95/100 || headerLate > 0 {
		t.Errorf("%d of %d header tricklers closed by nginx, %d after 15 s: client_header_timeout does not hold", headerClosed, headerConns, headerLate)
	}
	if refused429.Load() < bodyConns-perClient-8 {
		t.Errorf("%d of %d slow bodies from one address refused: the per-client limit does not hold", refused429.Load(), bodyConns)
	}
}
