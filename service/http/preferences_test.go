package http

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/engine/elicit"
	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/service/internal/redistest"
	"github.com/olumi/isl/service/internal/storekey"
	islredis "github.com/olumi/isl/service/redis"
)

const (
	elicitPath = "/api/v1/preferences/elicit"
	updatePath = "/api/v1/preferences/update"
	teachPath  = "/api/v1/teaching/teach"
)

const w5Body = `{"user_id":"test_user_pricing_001","context":{"domain":"pricing","variables":["revenue",
"churn","brand_perception"],"constraints":{"industry":"SaaS","current_price":49}},"num_queries":5}`

func prefGet(v jsonv.Value, path ...any) jsonv.Value {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v, _ = v.Get(k)
		case int:
			if v.Kind != jsonv.Array || k >= len(v.Arr) {
				return jsonv.Value{}
			}
			v = v.Arr[k]
		}
	}
	return v
}

func prefKeys(v jsonv.Value) string { return strings.Join(v.Obj.Keys(), ",") }

func TestElicitW5HTTP(t *testing.T) {
	s := newTestServer(t, nil, nil)
	r := s.post(elicitPath, w5Body)
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	if got := prefKeys(r.Body); got != "queries,strategy,expected_information_gain,estimated_queries_remaining,explanation" {
		t.Errorf("field order %s", got)
	}
	qs := prefGet(r.Body, "queries").Arr
	if len(qs) != 5 {
		t.Fatalf("%d queries", len(qs))
	}
	if got := prefKeys(qs[0]); got != "id,question,scenario_a,scenario_b,information_gain" {
		t.Errorf("query fields %s", got)
	}
	sum := 0.0
	seen := map[string]bool{}
	for _, q := range qs {
		id := prefGet(q, "id").Str
		if !strings.HasSuffix(id, "_5fbb49d3") || !strings.HasPrefix(id, "query_") || seen[id] {
			t.Errorf("id %q (F4 h8 is 5fbb49d3)", id)
		}
		seen[id] = true
		sum += prefGet(q, "information_gain").Num
	}
	if math.Abs(sum-prefGet(r.Body, "expected_information_gain").Num) > 1e-9 || sum <= 0 {
		t.Errorf("expected_information_gain %v vs sum %v", prefGet(r.Body, "expected_information_gain").Num, sum)
	}
	if r.str("strategy", "type") != "uncertainty_sampling" || prefGet(r.Body, "estimated_queries_remaining").Num != 5 {
		t.Errorf("strategy/remaining: %s", r.Raw)
	}
	if !strings.HasSuffix(prefGet(qs[0], "question").Str, "Consider the trade-offs in pricing decisions.") {
		t.Errorf("question %q", prefGet(qs[0], "question").Str)
	}
}

func TestElicitDeterministicHTTP(t *testing.T) {
	s := newTestServer(t, nil, nil)
	a := s.post(elicitPath, w5Body)
	if d := s.do("DELETE", "/api/v1/users/test_user_pricing_001", nil); d.Status != 204 {
		t.Fatalf("delete %d", d.Status)
	}
	b := s.post(elicitPath, w5Body)
	if a.Status != 200 || string(a.Raw) != string(b.Raw) {
		t.Errorf("same request, same state → different bodies:\n%s\n%s", a.Raw, b.Raw)
	}
}

func TestPreferencesBadInputHTTP(t *testing.T) {
	s := newTestServer(t, nil, nil)
	vars51 := make([]string, 51)
	for i := range vars51 {
		vars51[i] = fmt.Sprintf("%q", fmt.Sprint("v", i))
	}
	beliefs := func(std, u string) string {
		return `{"value_weights":{"a":{"type":"normal","parameters":{"mean":0.5,"std":` + std + `}}},` +
			`"risk_tolerance":{"type":"beta","parameters":{"alpha":2,"beta":2}},` +
			`"time_horizon":{"type":"normal","parameters":{"mean":12,"std":6}},"uncertainty_estimates":{"a_weight":` + u + `}}`
	}
	ctx := `{"domain":"d","variables":["a","b"]}`
	for _, tc := range []struct {
		name, path, body string
		status           int
		msg, typ         string
	}{
		{"no variables", elicitPath, `{"user_id":"u","context":{"domain":"d","variables":[]}}`, 400, "context.variables must contain at least one variable", ""},
		{"51 variables", elicitPath, `{"user_id":"u","context":{"domain":"d","variables":[` + strings.Join(vars51, ",") + `]}}`, 400, "context.variables must contain at most 50 variables", ""},
		{"duplicate", elicitPath, `{"user_id":"u","context":{"domain":"d","variables":["a","a"]}}`, 400, "context.variables contains duplicate variable 'a'", ""},
		{"num_queries 0", elicitPath, `{"user_id":"u","context":` + ctx + `,"num_queries":0}`, 422, "", "greater_than_equal"},
		{"num_queries 11", elicitPath, `{"user_id":"u","context":` + ctx + `,"num_queries":11}`, 422, "", "less_than_equal"},
		{"num_queries 2.5", elicitPath, `{"user_id":"u","context":` + ctx + `,"num_queries":2.5}`, 422, "", "int_from_float"},
		{"negative std", elicitPath, `{"user_id":"u","context":` + ctx + `,"current_beliefs":` + beliefs("-0.1", "0.5") + `}`, 400, "Invalid parameters for distribution 'a'", ""},
		{"uncertainty 1.5", elicitPath, `{"user_id":"u","context":` + ctx + `,"current_beliefs":` + beliefs("0.1", "1.5") + `}`, 400, "current_beliefs.uncertainty_estimates['a_weight'] must be between 0 and 1", ""},
		{"empty uncertainty", elicitPath, `{"user_id":"u","context":` + ctx + `,"current_beliefs":` + strings.Replace(beliefs("0.1", "0.5"), `"a_weight":0.5`, ``, 1) + `}`, 400, "current_beliefs.uncertainty_estimates must not be empty", ""},
		{"beliefs wrong type", elicitPath, `{"user_id":"u","context":` + ctx + `,"current_beliefs":{"value_weights":[]}}`, 422, "", "dict_type"},
		{"empty user", elicitPath, `{"user_id":"","context":` + ctx + `}`, 400, "user_id must not be empty", ""},
		{"fresh user update", updatePath, `{"user_id":"nobody","query_id":"query_000_x","response":"A"}`, 400, msgNoBeliefs, ""},
		{"response C", updatePath, `{"user_id":"u","query_id":"q","response":"C"}`, 422, "", "enum"},
		{"confidence 1.5", updatePath, `{"user_id":"u","query_id":"q","response":"A","confidence":1.5}`, 422, "", "less_than_equal"},
		{"confidence -1", updatePath, `{"user_id":"u","query_id":"q","response":"A","confidence":-1}`, 422, "", "greater_than_equal"},
		{"query id too long", updatePath, `{"user_id":"u","query_id":"` + strings.Repeat("q", 200) + `","response":"A"}`, 400, msgNoBeliefs, ""},
		{"unknown concept", teachPath, `{"user_id":"u","current_beliefs":` + beliefs("0.1", "0.5") + `,"target_concept":"magic","context":` + ctx + `}`, 400,
			"Unknown target_concept 'magic'. Known concepts: confounding, trade_offs, causal_mechanism, uncertainty, optimization", ""},
		{"max_examples 6", teachPath, `{"user_id":"u","current_beliefs":` + beliefs("0.1", "0.5") + `,"target_concept":"trade_offs","context":` + ctx + `,"max_examples":6}`, 422, "", "less_than_equal"},
		{"teach negative std", teachPath, `{"user_id":"u","current_beliefs":` + beliefs("-1", "0.5") + `,"target_concept":"trade_offs","context":` + ctx + `}`, 400, "Invalid parameters for distribution 'a'", ""},
		{"not an object", elicitPath, `[1,2]`, 422, "", "model_attributes_type"},
		{"bad json", updatePath, `{"user_id":`, 422, "", "json_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.post(tc.path, tc.body)
			r.envelope(t, tc.status, "validation_error")
			if tc.msg != "" && r.str("message") != tc.msg {
				t.Errorf("message %q, want %q", r.str("message"), tc.msg)
			}
			if tc.typ != "" {
				if got := prefGet(r.Body, "details", "errors", 0, "type").Str; got != tc.typ {
					t.Errorf("type %q, want %q: %s", got, tc.typ, r.Raw)
				}
			}
		})
	}
}

func TestHostileValuesNever5xx(t *testing.T) {
	s := newTestServer(t, nil, nil)
	huge := `{"user_id":"h","context":{"domain":"d","variables":["a","b"],"constraints":{"current_a":1e308,"b":-1e308,"minimize":["b"]}},` +
		`"current_beliefs":{"value_weights":{"a":{"type":"uniform","parameters":{"min":-1e308,"max":1e308}},"b":{"type":"exponential","parameters":{"scale":1e308}},` +
		`"c":{"type":"weird","parameters":{}}},"risk_tolerance":{"type":"beta","parameters":{"alpha":1e-300,"beta":1e300}},` +
		`"time_horizon":{"type":"normal","parameters":{"mean":0,"std":0}},"uncertainty_estimates":{"a_weight":0,"b_weight":1}},"num_queries":10}`
	r := s.post(elicitPath, huge)
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	q := prefGet(r.Body, "queries", 0, "id").Str
	u := s.post(updatePath, `{"user_id":"h","query_id":"`+q+`","response":"indifferent","confidence":0.5}`)
	if u.Status != 200 {
		t.Fatalf("update status %d: %s", u.Status, u.Raw)
	}
	teachBody := strings.Replace(strings.Replace(huge, `"num_queries":10`, `"target_concept":"optimization","max_examples":5`, 1), `"current_beliefs"`, `"current_beliefs"`, 1)
	if r := s.post(teachPath, teachBody); r.Status != 200 {
		t.Fatalf("teach status %d: %s", r.Status, r.Raw)
	}
	// A baseline at the float64 limit would overflow the +40 % scenarios to Inf (was a 500).
	over := strings.Replace(strings.Replace(huge, `"current_a":1e308`, `"current_a":1.7e308`, 1), `"user_id":"h"`, `"user_id":"h2"`, 1)
	if r := s.post(elicitPath, over); r.Status != 400 || r.str("message") != "context.constraints: the baseline of 'a' must be at most 1e+308 in magnitude" {
		t.Errorf("overflowing baseline: %d %s", r.Status, r.Raw)
	}
}

func TestUpdateFlowHTTP(t *testing.T) {
	s := newTestServer(t, nil, nil)
	body := `{"user_id":"alice","context":{"domain":"saas","variables":["revenue","churn","cost"],"constraints":{"minimize":["churn","cost"]}},"num_queries":3}`
	r := s.post(elicitPath, body)
	if r.Status != 200 {
		t.Fatalf("elicit %d %s", r.Status, r.Raw)
	}
	issued := map[string]bool{}
	for _, q := range prefGet(r.Body, "queries").Arr {
		issued[prefGet(q, "id").Str] = true
	}
	q0 := prefGet(r.Body, "queries", 0, "id").Str
	if strings.Contains(prefGet(r.Body, "queries", 0, "question").Str, "churn increases") {
		t.Errorf("churn is minimised: %s", prefGet(r.Body, "queries", 0, "question").Str)
	}
	// Another user cannot answer alice's query.
	s.post(elicitPath, strings.Replace(body, "alice", "bob", 1))
	if x := s.post(updatePath, `{"user_id":"bob","query_id":"`+q0+`","response":"A"}`); x.Status != 400 || x.str("message") != msgUnknownQuery {
		t.Errorf("foreign query: %d %s", x.Status, x.Raw)
	}
	u := s.post(updatePath, `{"user_id":"alice","query_id":"`+q0+`","response":"A","confidence":0.9}`)
	if u.Status != 200 {
		t.Fatalf("update %d %s", u.Status, u.Raw)
	}
	if got := prefKeys(u.Body); got != "updated_beliefs,queries_completed,estimated_queries_remaining,next_queries,learning_summary" {
		t.Errorf("fields %s", got)
	}
	if got := prefKeys(prefGet(u.Body, "learning_summary")); got != "top_priorities,confidence,insights,ready_for_recommendations" {
		t.Errorf("learning_summary fields %s", got)
	}
	if prefGet(u.Body, "queries_completed").Num != 1 || len(prefGet(u.Body, "next_queries").Arr) != 3 {
		t.Errorf("completed/next: %s", u.Raw)
	}
	for _, q := range prefGet(u.Body, "next_queries").Arr {
		if id := prefGet(q, "id").Str; issued[id] {
			t.Errorf("next query id %s collides with an issued one", id)
		}
	}
	// Beliefs moved: the summary is a posterior, not the prior.
	if prefGet(u.Body, "updated_beliefs", "uncertainty_estimates", "revenue_weight").Num >= 0.8 &&
		prefGet(u.Body, "updated_beliefs", "uncertainty_estimates", "churn_weight").Num >= 0.8 &&
		prefGet(u.Body, "updated_beliefs", "uncertainty_estimates", "cost_weight").Num >= 0.8 {
		t.Errorf("no learning: %s", u.Raw)
	}
	next := prefGet(u.Body, "next_queries", 0, "id").Str
	if u2 := s.post(updatePath, `{"user_id":"alice","query_id":"`+next+`","response":"indifferent"}`); u2.Status != 200 || prefGet(u2.Body, "queries_completed").Num != 2 {
		t.Errorf("second update %d %s", u2.Status, u2.Raw)
	}
	if x := s.post(updatePath, `{"user_id":"alice","query_id":"query_999_deadbeef","response":"A"}`); x.Status != 400 || x.str("message") != msgUnknownQuery {
		t.Errorf("unknown query: %d %s", x.Status, x.Raw)
	}
	if d := s.do("DELETE", "/api/v1/users/alice", nil); d.Status != 204 || len(d.Raw) != 0 {
		t.Errorf("delete %d %q", d.Status, d.Raw)
	}
	if d := s.do("DELETE", "/api/v1/users/alice", nil); d.Status != 204 {
		t.Errorf("second delete %d", d.Status)
	}
	if x := s.post(updatePath, `{"user_id":"alice","query_id":"`+next+`","response":"A"}`); x.Status != 400 || x.str("message") != msgNoBeliefs {
		t.Errorf("after delete: %d %s", x.Status, x.Raw)
	}
}

// simulated user for the HTTP learning test: hidden weights, answers by the model's own choice rule
// (Davidson–Bradley–Terry on direction-signed relative changes from the baseline 100).
type httpUser struct {
	vars   []string
	less   map[string]bool
	hidden map[string]float64
	rng    *rand.Rand
}

func (u *httpUser) answer(q jsonv.Value) string {
	du := 0.0
	a, b := prefGet(q, "scenario_a", "outcomes"), prefGet(q, "scenario_b", "outcomes")
	for _, v := range u.vars {
		xa, okA := a.Get(v)
		xb, okB := b.Get(v)
		if !okA || !okB {
			continue
		}
		d := (xa.Num - xb.Num) / elicit.DefaultBase
		if u.less[v] {
			d = -d
		}
		du += u.hidden[v] * d
	}
	z := elicit.Rationality * float64(len(u.vars)) * du
	e := math.Exp(z / 2)
	den := e + 1/e + elicit.TieStrength
	x := u.rng.Float64()
	switch {
	case x < e/den:
		return "A"
	case x < (e+1/e)/den:
		return "B"
	}
	return "indifferent"
}

func (u *httpUser) err(r response) float64 {
	e := 0.0
	for _, v := range u.vars {
		e += math.Abs(prefGet(r.Body, "updated_beliefs", "value_weights", v, "parameters", "mean").Num - u.hidden[v])
	}
	return e
}

// TestSimulatedUsersLearnHTTP: 50 simulated users with hidden weights answer 10 queries through the
// API. Information-gain users answer the query the service proposes next. Random users pick a
// uniformly random candidate: a random variable pair, then /elicit on just that pair with
// num_queries 10 returns that pair's whole candidate list (10 levels), of which they answer a random one.
func TestSimulatedUsersLearnHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("50 simulated users")
	}
	s := newTestServer(t, nil, nil)
	vars := []string{"revenue", "churn", "quality", "cost"}
	const users = 50
	var prior, eIG, eRnd float64
	for i := range users {
		r := rand.New(rand.NewPCG(uint64(i), 99))
		hidden := map[string]float64{}
		sum := 0.0
		for _, v := range vars {
			hidden[v] = r.ExpFloat64()
			sum += hidden[v]
		}
		for _, v := range vars {
			hidden[v] /= sum
			prior += math.Abs(0.25-hidden[v]) / users
		}
		for _, random := range []bool{false, true} {
			u := &httpUser{vars: vars, less: map[string]bool{"churn": true, "cost": true}, hidden: hidden, rng: rand.New(rand.NewPCG(uint64(i), 7))}
			id := fmt.Sprintf("sim-%d-%v", i, random)
			elicitFor := func(vs []string, n int) []jsonv.Value {
				el := s.post(elicitPath, fmt.Sprintf(`{"user_id":%q,"context":{"domain":"product","variables":["%s"],`+
					`"constraints":{"minimize":["churn","cost"]}},"num_queries":%d}`, id, strings.Join(vs, `","`), n))
				if el.Status != 200 {
					t.Fatalf("elicit %d %s", el.Status, el.Raw)
				}
				return prefGet(el.Body, "queries").Arr
			}
			pending := elicitFor(vars, 1)
			var last response
			for range 10 {
				q := pending[0]
				if random {
					p := r.Perm(len(vars))
					pool := elicitFor([]string{vars[min(p[0], p[1])], vars[max(p[0], p[1])]}, 10)
					if len(pool) != 10 {
						t.Fatalf("pair pool has %d candidates", len(pool))
					}
					q = pool[r.IntN(len(pool))]
				}
				last = s.post(updatePath, fmt.Sprintf(`{"user_id":%q,"query_id":%q,"response":%q}`, id, prefGet(q, "id").Str, u.answer(q)))
				if last.Status != 200 {
					t.Fatalf("update %d %s", last.Status, last.Raw)
				}
				if !random {
					pending = prefGet(last.Body, "next_queries").Arr
				}
			}
			if prefGet(last.Body, "queries_completed").Num != 10 {
				t.Fatalf("completed %v", prefGet(last.Body, "queries_completed").Num)
			}
			if random {
				eRnd += u.err(last) / users
			} else {
				eIG += u.err(last) / users
			}
		}
	}
	t.Logf("mean L1 error of the posterior mean: prior %.4f, information gain %.4f, random %.4f", prior, eIG, eRnd)
	if !(eIG < 0.6*prior) {
		t.Errorf("posterior did not move toward the hidden weights: %.4f vs prior %.4f", eIG, prior)
	}
	if !(eIG < 0.85*eRnd) {
		t.Errorf("information-gain selection %.4f not clearly better than random %.4f", eIG, eRnd)
	}
}

// tcpProxy sits between the service and redis-server so a test can take "Redis" down and bring it
// back without losing its data (redistest's Restart starts an empty server).
type tcpProxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{target: target, addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]bool{}}
	go p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
		go func() { _, _ = io.Copy(c, up); up.Close(); c.Close() }()
	}
}

func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *tcpProxy) up(t *testing.T) {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.mu.Lock()
			p.ln = ln
			p.mu.Unlock()
			go p.serve(ln)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("proxy up: %v", err)
}

func ttlOf(t *testing.T, srv *redistest.Server, key string) int {
	t.Helper()
	reply, err := srv.Do("TTL", key)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscanf(reply, ":%d", &n); err != nil {
		t.Fatalf("TTL %s: %q", key, reply)
	}
	return n
}

// TestPreferencesRedisFlow: two service instances share one real redis-server; state lives in Redis,
// TTLs are the contract's, DELETE erases everything, and an outage gives 503 retryable, then recovery.
func TestPreferencesRedisFlow(t *testing.T) {
	srv := redistest.Start(t)
	proxy := newTCPProxy(t, srv.Addr)
	newStore := func() *islredis.Store {
		st := islredis.New(islredis.Options{Addr: proxy.addr, Password: srv.Password, DialTimeout: 500 * time.Millisecond,
			ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: -1})
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := newTestServer(t, nil, newStore()), newTestServer(t, nil, newStore())
	const user = "carol:*?"
	el := a.post(elicitPath, `{"user_id":"`+user+`","context":{"domain":"hr","variables":["salary","hours","growth"],"constraints":{"minimize":"hours"}},"num_queries":4}`)
	if el.Status != 200 {
		t.Fatalf("elicit %d %s", el.Status, el.Raw)
	}
	ids := []string{}
	for _, q := range prefGet(el.Body, "queries").Arr {
		ids = append(ids, prefGet(q, "id").Str)
	}
	// Instance B answers a query instance A issued.
	u1 := b.post(updatePath, `{"user_id":"`+user+`","query_id":"`+ids[0]+`","response":"B"}`)
	if u1.Status != 200 || prefGet(u1.Body, "queries_completed").Num != 1 {
		t.Fatalf("update on B: %d %s", u1.Status, u1.Raw)
	}
	// And A sees what B stored.
	next := prefGet(u1.Body, "next_queries", 0, "id").Str
	u2 := a.post(updatePath, `{"user_id":"`+user+`","query_id":"`+next+`","response":"A"}`)
	if u2.Status != 200 || prefGet(u2.Body, "queries_completed").Num != 2 {
		t.Fatalf("update on A: %d %s", u2.Status, u2.Raw)
	}
	prefix := "isl:user:" + storekey.User(user) + ":"
	for _, tc := range []struct {
		key    string
		lo, hi int
	}{
		{"beliefs", 86400 - 60, 86400},
		{"query:" + ids[1], 604800 - 60, 604800},
		{"query:" + next, 604800 - 60, 604800},
		{"queries", 604800 - 60, 604800},
		{"responses", 2592000 - 60, 2592000},
	} {
		if ttl := ttlOf(t, srv, prefix+tc.key); ttl < tc.lo || ttl > tc.hi {
			t.Errorf("TTL %s = %d, want %d..%d", tc.key, ttl, tc.lo, tc.hi)
		}
	}
	if keys, _ := srv.Do("KEYS", "*carol*"); keys != "*0\r\n" {
		t.Errorf("raw user id in a key: %q", keys)
	}

	// Outage: 503 retryable on both instances.
	proxy.down()
	for _, s := range []*testServer{a, b} {
		r := s.post(updatePath, `{"user_id":"`+user+`","query_id":"`+ids[2]+`","response":"A"}`)
		r.envelope(t, 503, "service_unavailable")
		if retry, _ := r.Body.Get("retryable"); !retry.Bool {
			t.Errorf("503 not retryable: %s", r.Raw)
		}
	}
	if r := a.post(elicitPath, `{"user_id":"dave","context":{"domain":"d","variables":["x","y"]}}`); r.Status != 503 {
		t.Errorf("elicit during outage: %d %s", r.Status, r.Raw)
	}
	if r := a.do("DELETE", "/api/v1/users/dave", nil); r.Status != 503 {
		t.Errorf("delete during outage: %d", r.Status)
	}
	// Back up: nothing lost, the count continues.
	proxy.up(t)
	var u3 response
	for range 20 {
		if u3 = b.post(updatePath, `{"user_id":"`+user+`","query_id":"`+ids[2]+`","response":"A"}`); u3.Status != 503 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if u3.Status != 200 || prefGet(u3.Body, "queries_completed").Num != 3 {
		t.Fatalf("after recovery: %d %s", u3.Status, u3.Raw)
	}

	// DELETE via B erases every key of the user; idempotent; the user is unknown afterwards.
	if d := b.do("DELETE", "/api/v1/users/"+strings.ReplaceAll(user, "?", "%3F"), nil); d.Status != 204 {
		t.Fatalf("delete %d %s", d.Status, d.Raw)
	}
	if keys, _ := srv.Do("KEYS", prefix+"*"); keys != "*0\r\n" {
		t.Errorf("keys left after DELETE: %q", keys)
	}
	if d := a.do("DELETE", "/api/v1/users/"+strings.ReplaceAll(user, "?", "%3F"), nil); d.Status != 204 {
		t.Errorf("second delete %d", d.Status)
	}
	if r := a.post(updatePath, `{"user_id":"`+user+`","query_id":"`+next+`","response":"A"}`); r.Status != 400 || r.str("message") != msgNoBeliefs {
		t.Errorf("after delete: %d %s", r.Status, r.Raw)
	}
}
