package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/memory"
)

// The OpenAPI tests check the hand-written document three ways: it is a well-formed OpenAPI 3.1
// document whose schemas are valid JSON Schema 2020-12; its operations are exactly the router's;
// and what the handlers answer to the documented (docs/api.md#causal-validate-examples) examples — and to bad requests — validates
// against the documented response schemas.

const docURL = "mem://isl/openapi.json"

// apiDoc is the embedded document, decoded.
type apiDoc struct {
	raw  map[string]any
	comp *jsonschema.Compiler
}

func loadDoc(t *testing.T) *apiDoc {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal(openAPIJSON, &raw); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPIJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, inst); err != nil {
		t.Fatalf("add openapi.json as a schema resource: %v", err)
	}
	return &apiDoc{raw: raw, comp: c}
}

// pointer escapes JSON pointer tokens.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteString("/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}

// lookup resolves a JSON pointer ("" = root) in the document.
func (d *apiDoc) lookup(ptr string) (any, bool) {
	var cur any = d.raw
	if ptr == "" {
		return cur, true
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			var i int
			if _, err := fmt.Sscanf(tok, "%d", &i); err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// schema compiles the schema at a JSON pointer of the document.
func (d *apiDoc) schema(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	s, err := d.comp.Compile(docURL + "#" + ptr)
	if err != nil {
		t.Fatalf("compile schema at %s: %v", ptr, err)
	}
	return s
}

// operations lists "METHOD path" for every documented operation.
func (d *apiDoc) operations() []string {
	var ops []string
	for path, item := range d.raw["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	sort.Strings(ops)
	return ops
}

// responseSchema is the pointer of the JSON schema documented for an operation's status, following
// a $ref into components/responses. ok=false when the status is not documented.
func (d *apiDoc) responseSchema(method, path string, status int) (string, bool) {
	ptr := pointer("paths", path, strings.ToLower(method), "responses", fmt.Sprint(status))
	v, ok := d.lookup(ptr)
	if !ok {
		return "", false
	}
	if ref, isRef := v.(map[string]any)["$ref"].(string); isRef {
		ptr = strings.TrimPrefix(ref, "#")
	}
	ptr += pointer("content", "application/json", "schema")
	_, ok = d.lookup(ptr)
	return ptr, ok
}

// validate checks a response body against the schema documented for its status.
func (d *apiDoc) validate(t *testing.T, method, path string, r response) {
	t.Helper()
	ptr, ok := d.responseSchema(method, path, r.Status)
	if !ok {
		t.Fatalf("%s %s answered %d, which the document does not list; body %s", method, path, r.Status, r.Raw)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Raw))
	if err != nil {
		t.Fatalf("%s %s: response is not JSON: %v: %s", method, path, err, r.Raw)
	}
	if err := d.schema(t, ptr).Validate(inst); err != nil {
		t.Fatalf("%s %s → %d does not match %s:\n%v\nbody: %s", method, path, r.Status, ptr, err, r.Raw)
	}
	// docs/api.md#responses: members appear in documented order (the schema's property order).
	ordered, err := jsonv.Parse(openAPIJSON)
	if err != nil {
		t.Fatal(err)
	}
	sch := ordered
	for _, tok := range strings.Split(ptr[1:], "/") {
		sch, _ = sch.Get(strings.NewReplacer("~1", "/", "~0", "~").Replace(tok))
	}
	for _, problem := range checkOrder(ordered, sch, r.Body, "body") {
		t.Errorf("%s %s → %d: %s", method, path, r.Status, problem)
	}
}

// checkOrder reports objects of inst whose members are not in the order of the schema's properties.
func checkOrder(doc, sch, inst jsonv.Value, at string) (problems []string) {
	for depth := 0; depth < 20; depth++ { // follow $ref chains
		ref, ok := sch.Get("$ref")
		if !ok {
			break
		}
		sch = doc
		for _, tok := range strings.Split(strings.TrimPrefix(ref.Str, "#/"), "/") {
			sch, _ = sch.Get(strings.NewReplacer("~1", "/", "~0", "~").Replace(tok))
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		if alts, ok := sch.Get(key); ok {
			for _, a := range alts.Arr {
				problems = append(problems, checkOrder(doc, a, inst, at)...)
			}
		}
	}
	switch inst.Kind {
	case jsonv.Object:
		props, hasProps := sch.Get("properties")
		if hasProps {
			var want, got []string
			for _, k := range props.Obj.Keys() {
				if inst.Obj.Has(k) {
					want = append(want, k)
				}
			}
			for _, k := range inst.Obj.Keys() {
				if props.Obj.Has(k) {
					got = append(got, k)
				}
			}
			if !slices.Equal(want, got) {
				problems = append(problems, fmt.Sprintf("%s: members in order %v, documented order %v", at, got, want))
			}
			for _, e := range inst.Obj {
				if p, ok := props.Get(e.Key); ok {
					problems = append(problems, checkOrder(doc, p, e.Value, at+"."+e.Key)...)
				}
			}
		}
		if ap, ok := sch.Get("additionalProperties"); ok && ap.Kind == jsonv.Object {
			for _, e := range inst.Obj {
				if !hasProps || !props.Obj.Has(e.Key) {
					problems = append(problems, checkOrder(doc, ap, e.Value, at+"."+e.Key)...)
				}
			}
		}
	case jsonv.Array:
		if items, ok := sch.Get("items"); ok && items.Kind == jsonv.Object {
			for i, e := range inst.Arr {
				problems = append(problems, checkOrder(doc, items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return problems
}

// walkRefs calls fn for every $ref in v.
func walkRefs(v any, at string, fn func(at, ref string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				fn(at, s)
				continue
			}
			walkRefs(e, at+pointer(k), fn)
		}
	case []any:
		for i, e := range x {
			walkRefs(e, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

func TestOpenAPIDocumentShape(t *testing.T) {
	d := loadDoc(t)
	if v, _ := d.raw["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi = %q, want 3.1.x", v)
	}
	info, _ := d.raw["info"].(map[string]any)
	for k, want := range map[string]string{
		"title":       "Olumi Inference Service Layer",
		"version":     "0.1.0",
		"description": "Deterministic scientific computation core for decision enhancement",
	} {
		if info[k] != want {
			t.Errorf("info.%s = %v, want %q", k, info[k], want)
		}
	}

	t.Run("refs resolve", func(t *testing.T) {
		walkRefs(d.raw, "", func(at, ref string) {
			if !strings.HasPrefix(ref, "#/") {
				t.Errorf("%s: external $ref %q (the document must be self-contained)", at, ref)
				return
			}
			if _, ok := d.lookup(ref[1:]); !ok {
				t.Errorf("%s: $ref %q does not resolve", at, ref)
			}
		})
	})

	t.Run("schemas reject wrong bodies", func(t *testing.T) {
		for ptr, body := range map[string]string{
			"/components/schemas/HealthResponse":           `{"status":"ok","version":"0.1.0","timestamp":"x","dependencies":{}}`,
			"/components/schemas/SchemaValidationError":    `{"error_code":"validation_error","message":"Request validation failed","details":{"errors":[{"type":"missing","loc":["query"],"msg":"m","input":{}}]},"trace_id":"0b8f1f3e-2f4a-4c55-9d0e-8a1f6c2b7d11","retryable":false,"suggested_action":"fix_input"}`,
			"/components/schemas/BadRequestError":          `{"error_code":"validation_error","message":"m","details":null,"trace_id":"0b8f1f3e-2f4a-4c55-9d0e-8a1f6c2b7d11","retryable":true,"suggested_action":"fix_input"}`,
			"/components/schemas/CausalValidationResponse": `{"status":"identifiable","adjustment_sets":[["Z"]],"minimal_set":["Z"],"backdoor_paths":null,"issues":null,"confidence":"high"}`,
			"/components/schemas/CounterfactualQuery":      `{"id":"query_000_5fbb49d3","question":"q","scenario_a":{"description":"a","outcomes":{},"trade_offs":[]},"scenario_b":{"description":"b","outcomes":{},"trade_offs":[]},"information_gain":0.1,"coef":{}}`,
		} {
			inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(body))
			if err := d.schema(t, ptr).Validate(inst); err == nil {
				t.Errorf("%s accepted %s", ptr, body)
			}
		}
	})

	t.Run("component schemas are valid JSON Schema 2020-12", func(t *testing.T) {
		for name := range d.raw["components"].(map[string]any)["schemas"].(map[string]any) {
			d.schema(t, pointer("components", "schemas", name))
		}
	})

	schemes := d.raw["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if k, _ := schemes["ApiKeyHeader"].(map[string]any); k["type"] != "apiKey" || k["in"] != "header" || k["name"] != "X-API-Key" {
		t.Errorf("ApiKeyHeader scheme = %v", k)
	}
	if b, _ := schemes["BearerAuth"].(map[string]any); b["type"] != "http" || b["scheme"] != "bearer" {
		t.Errorf("BearerAuth scheme = %v", b)
	}

	ids := map[string]string{}
	paramRe := regexp.MustCompile(`\{([^}]+)\}`)
	for _, op := range d.operations() {
		method, path, _ := strings.Cut(op, " ")
		t.Run(op, func(t *testing.T) {
			base := pointer("paths", path, strings.ToLower(method))
			o, _ := d.lookup(base)
			m := o.(map[string]any)
			id, _ := m["operationId"].(string)
			if id == "" || ids[id] != "" {
				t.Errorf("operationId %q missing or also used by %s", id, ids[id])
			}
			ids[id] = op
			if s, _ := m["summary"].(string); s == "" {
				t.Error("no summary")
			}
			resp, _ := m["responses"].(map[string]any)
			if _, ok := d.responseSchema(method, path, 200); !ok && resp["204"] == nil {
				t.Error("neither a 200 application/json schema nor a 204")
			}
			// Security: everything under the API prefix takes either scheme; /health is open.
			sec, hasSec := m["security"].([]any)
			if strings.HasPrefix(path, documentPrefix+"/") {
				var names []string
				for _, req := range sec {
					for k := range req.(map[string]any) {
						names = append(names, k)
					}
				}
				sort.Strings(names)
				if !slices.Equal(names, []string{"ApiKeyHeader", "BearerAuth"}) {
					t.Errorf("security = %v, want ApiKeyHeader or BearerAuth", sec)
				}
				for _, code := range []string{"401", "429", "500", "503"} {
					if resp[code] == nil {
						t.Errorf("status %s not documented", code)
					}
				}
			} else if !hasSec || len(sec) != 0 {
				t.Errorf("security = %v, want [] (open)", m["security"])
			}
			// Path parameters are declared.
			declared := map[string]bool{}
			params, _ := m["parameters"].([]any)
			for _, p := range params {
				pm := p.(map[string]any)
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = pm["required"] == true
				}
			}
			for _, g := range paramRe.FindAllStringSubmatch(path, -1) {
				if !declared[g[1]] {
					t.Errorf("path parameter %q not declared as required", g[1])
				}
			}
			if method != http.MethodPost {
				return
			}
			for _, code := range []string{"400", "413", "415", "422"} {
				if resp[code] == nil {
					t.Errorf("status %s not documented", code)
				}
			}
			// Every POST documents a request schema and an example that satisfies it.
			rb := base + pointer("requestBody", "content", "application/json")
			ex, ok := d.lookup(rb + "/example")
			if !ok {
				t.Fatal("request body has no example")
			}
			raw, _ := json.Marshal(ex)
			inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err := d.schema(t, rb+"/schema").Validate(inst); err != nil {
				t.Errorf("request example does not match the request schema: %v", err)
			}
		})
	}

	t.Run("documented examples match their schemas", func(t *testing.T) {
		n := 0
		walkExamples(d.raw, "", func(at string, ex any) {
			parent := strings.TrimSuffix(at, "/example")
			if _, ok := d.lookup(parent + "/schema"); !ok {
				return
			}
			n++
			raw, _ := json.Marshal(ex)
			inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err := d.schema(t, parent+"/schema").Validate(inst); err != nil {
				t.Errorf("%s does not match its schema: %v", at, err)
			}
		})
		if n < 10 {
			t.Errorf("only %d media examples checked", n)
		}
	})
}

// walkExamples calls fn for every media-type "example" member.
func walkExamples(v any, at string, fn func(at string, ex any)) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, e := range m {
		if k == "example" {
			fn(at+"/example", e)
			continue
		}
		walkExamples(e, at+pointer(k), fn)
	}
}

// routerOperations walks the chi router of a real server ("METHOD pattern"), leaving out the
// routes that serve the documentation itself and /metrics (docs/api.md#routes).
func routerOperations(t *testing.T, cfg config.Config) []string {
	t.Helper()
	h := NewServer(Deps{Config: cfg, Store: memory.New(memory.Options{}), StoreKind: "memory"})
	mux, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("NewServer returned %T, want a chi router", h)
	}
	var ops []string
	err := chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*/", "/")
		switch route {
		case "/metrics", "/docs", "/redoc", "/openapi.json":
			return nil
		}
		ops = append(ops, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ops)
	return slices.Compact(ops)
}

func TestOpenAPIMatchesRouter(t *testing.T) {
	d := loadDoc(t)
	documented := d.operations()
	routed := routerOperations(t, defaultTestConfig())
	for _, op := range routed {
		if !slices.Contains(documented, op) {
			t.Errorf("route %s is not documented", op)
		}
	}
	for _, op := range documented {
		if !slices.Contains(routed, op) {
			t.Errorf("documented operation %s is not routed", op)
		}
	}
	if len(documented) != 10 {
		t.Errorf("documented %d operations, want 10 (/health, 8 POSTs, DELETE user): %v", len(documented), documented)
	}
}

func TestOpenAPIFollowsPrefix(t *testing.T) {
	cfg := defaultTestConfig()
	cfg.APIPrefix = "/isl/v2"
	s := newTestServer(t, &cfg, nil)
	r := s.do(http.MethodGet, "/openapi.json", nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	var doc struct {
		Info  map[string]any            `json:"info"`
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info["title"] != "Olumi Inference Service Layer" {
		t.Fatalf("info lost in the rewrite: %v", doc.Info)
	}
	var documented []string
	for p, item := range doc.Paths {
		for m := range item {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(documented)
	routed := routerOperations(t, cfg)
	if !slices.Equal(documented, routed) {
		t.Fatalf("with API_V1_PREFIX=/isl/v2:\ndocumented %v\nrouted     %v", documented, routed)
	}
	// Member order survives the rewrite: paths still start with /health.
	if i, j := bytes.Index(r.Raw, []byte(`"/health"`)), bytes.Index(r.Raw, []byte(`"/isl/v2/causal/validate"`)); i < 0 || j < i {
		t.Fatalf("path order changed: %s", r.Raw[:min(len(r.Raw), 400)])
	}

	s0 := newTestServer(t, nil, nil)
	if r := s0.do(http.MethodGet, "/openapi.json", nil); !bytes.Equal(r.Raw, openAPIJSON) {
		t.Fatal("with the default prefix /openapi.json must serve the embedded document unchanged")
	}
}

// exampleRequest is the documented request example of a POST operation.
func (d *apiDoc) exampleRequest(t *testing.T, path string) map[string]any {
	t.Helper()
	v, ok := d.lookup(pointer("paths", path, "post", "requestBody", "content", "application/json", "example"))
	if !ok {
		t.Fatalf("%s: no request example", path)
	}
	var out map[string]any
	raw, _ := json.Marshal(v)
	_ = json.Unmarshal(raw, &out)
	return out
}

// TestOpenAPIResponsesMatchSchemas sends each documented docs/api.md#causal-validate-examples example through a real server and
// validates the answer against the documented 200 schema.
func TestOpenAPIResponsesMatchSchemas(t *testing.T) {
	d := loadDoc(t)
	s := newTestServer(t, nil, nil)

	t.Run("GET /health", func(t *testing.T) {
		d.validate(t, http.MethodGet, "/health", s.do(http.MethodGet, "/health", nil))
	})
	for _, op := range d.operations() {
		method, path, _ := strings.Cut(op, " ")
		if method != http.MethodPost || path == "/api/v1/preferences/update" {
			continue
		}
		t.Run(op, func(t *testing.T) {
			r := s.post(path, d.exampleRequest(t, path))
			if r.Status != http.StatusOK {
				t.Fatalf("documented example answered %d: %s", r.Status, r.Raw)
			}
			d.validate(t, method, path, r)
		})
	}

	// /update and DELETE need state: elicit first, then answer one of the issued queries.
	t.Run("POST /api/v1/preferences/update", func(t *testing.T) {
		const path = "/api/v1/preferences/update"
		el := s.post("/api/v1/preferences/elicit", d.exampleRequest(t, "/api/v1/preferences/elicit"))
		q, _ := el.Body.Get("queries")
		if len(q.Arr) == 0 {
			t.Fatalf("elicit returned no queries: %s", el.Raw)
		}
		id, _ := q.Arr[0].Get("id")
		req := d.exampleRequest(t, path)
		req["query_id"] = id.Str
		r := s.post(path, req)
		if r.Status != http.StatusOK {
			t.Fatalf("update answered %d: %s", r.Status, r.Raw)
		}
		d.validate(t, http.MethodPost, path, r)
	})
	t.Run("DELETE /api/v1/users/{user_id}", func(t *testing.T) {
		const tmpl = "/api/v1/users/{user_id}"
		user := "test_user_pricing_001"
		s.post("/api/v1/preferences/elicit", d.exampleRequest(t, "/api/v1/preferences/elicit"))
		if _, ok := d.lookup(pointer("paths", tmpl, "delete", "responses", "204")); !ok {
			t.Fatal("204 not documented")
		}
		if _, ok := d.lookup(pointer("paths", tmpl, "delete", "responses", "204", "content")); ok {
			t.Fatal("a 204 has no content")
		}
		for range 2 { // idempotent: the second delete finds nothing and still answers 204
			r := s.do(http.MethodDelete, "/api/v1/users/"+url.PathEscape(user), nil)
			if r.Status != http.StatusNoContent || len(r.Raw) != 0 {
				t.Fatalf("delete answered %d %q, want 204 without body", r.Status, r.Raw)
			}
		}
	})
}

// TestOpenAPIErrorsMatchSchemas sends bad requests to every operation and validates the error
// envelopes against the documented schemas (docs/api.md#errors).
func TestOpenAPIErrorsMatchSchemas(t *testing.T) {
	d := loadDoc(t)
	s := newTestServer(t, nil, nil)

	// Semantic errors the contract words as 400s (docs/api.md#causal-validate docs/api.md#equation-grammar, docs/api.md#elicit docs/api.md#update, docs/api.md#teach docs/api.md#limits, docs/api.md#validation-validate docs/api.md#team-align docs/api.md#sensitivity ).
	bad400 := map[string]func(map[string]any){
		"/api/v1/causal/validate": func(m map[string]any) { m["dag"] = map[string]any{"nodes": []any{}, "edges": []any{}} },
		"/api/v1/causal/counterfactual": func(m map[string]any) {
			m["model"].(map[string]any)["equations"] = map[string]any{"Revenue": "__import__('os')"}
		},
		"/api/v1/preferences/elicit": func(m map[string]any) { m["context"].(map[string]any)["variables"] = []any{} },
		"/api/v1/preferences/update": func(m map[string]any) { m["user_id"] = "never_seen_user" },
		"/api/v1/teaching/teach": func(m map[string]any) {
			m["current_beliefs"].(map[string]any)["uncertainty_estimates"] = map[string]any{"revenue_weight": 2.0}
		},
		"/api/v1/validation/validate": func(m map[string]any) { m["dag"] = "not a dag" },
		"/api/v1/team/align":          func(m map[string]any) { m["perspectives"] = []any{} },
		"/api/v1/analysis/sensitivity": func(m map[string]any) {
			m["assumptions"].([]any)[0].(map[string]any)["name"] = ""
		},
	}
	for _, op := range d.operations() {
		method, path, _ := strings.Cut(op, " ")
		if method != http.MethodPost {
			continue
		}
		t.Run(op, func(t *testing.T) {
			probe := func(name string, r response, want int) {
				t.Helper()
				if r.Status != want {
					t.Fatalf("%s: status %d, want %d: %s", name, r.Status, want, r.Raw)
				}
				d.validate(t, method, path, r)
			}
			probe("empty object", s.post(path, "{}"), http.StatusUnprocessableEntity)
			probe("bad JSON", s.post(path, `{"a":`), http.StatusUnprocessableEntity)
			probe("not an object", s.post(path, `[1,2]`), http.StatusUnprocessableEntity)
			probe("wrong types", s.post(path, `{"validation_level":5,"user_id":7,"dag":[],"model":1,"perspectives":{},"num_queries":"x","confidence":"y","max_examples":2.5,"baseline_result":"z"}`), http.StatusUnprocessableEntity)
			probe("wrong content type", s.do(http.MethodPost, path, "{}", "Content-Type", "text/plain"), http.StatusUnsupportedMediaType)
			probe("too large", s.post(path, `{"x":"`+strings.Repeat("a", MaxBodyBytes)+`"}`), http.StatusRequestEntityTooLarge)
			if mutate := bad400[path]; mutate != nil {
				req := d.exampleRequest(t, path)
				mutate(req)
				probe("semantic error", s.post(path, req), http.StatusBadRequest)
			}
		})
	}

	t.Run("401 and 429", func(t *testing.T) {
		cfg := defaultTestConfig()
		cfg.APIKeys = []string{"k1"}
		cfg.RateLimitPerMinute = 2
		sk := newTestServer(t, &cfg, nil)
		const path = "/api/v1/causal/validate"
		d.validate(t, http.MethodPost, path, sk.post(path, "{}"))
		var last response
		for range 3 {
			last = sk.do(http.MethodPost, path, "{}", "X-API-Key", "k1")
		}
		if last.Status != http.StatusTooManyRequests {
			t.Fatalf("third request: %d, want 429", last.Status)
		}
		d.validate(t, http.MethodPost, path, last)
	})

	t.Run("404 and 405 are envelopes", func(t *testing.T) {
		env := d.schema(t, pointer("components", "schemas", "ErrorEnvelope"))
		for _, r := range []response{s.do(http.MethodGet, "/nope", nil), s.do(http.MethodGet, "/api/v1/causal/validate", nil)} {
			inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(r.Raw))
			if err := env.Validate(inst); err != nil {
				t.Errorf("%d body does not match ErrorEnvelope: %v: %s", r.Status, err, r.Raw)
			}
		}
	})
}

func TestDocsPages(t *testing.T) {
	s := newTestServer(t, nil, nil)
	scriptRe := regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	styleRe := regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	for _, path := range []string{"/docs", "/redoc"} {
		t.Run(path, func(t *testing.T) {
			r := s.do(http.MethodGet, path, nil)
			if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s: %d %q", path, r.Status, r.Header.Get("Content-Type"))
			}
			csp := r.Header.Get("Content-Security-Policy")
			directives := map[string]string{}
			for _, d := range strings.Split(csp, ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
				directives[name] = value
			}
			if directives["default-src"] != "'none'" || directives["connect-src"] != "'self'" {
				t.Errorf("CSP must default to 'none' and only connect to 'self': %q", csp)
			}
			if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
				t.Errorf("CSP allows more than 'self' and hashes: %q", csp)
			}
			page := string(r.Raw)
			scripts, styles := scriptRe.FindAllStringSubmatch(page, -1), styleRe.FindAllStringSubmatch(page, -1)
			if len(scripts) != 1 || len(styles) != 1 {
				t.Fatalf("want exactly one inline script and style, got %d and %d", len(scripts), len(styles))
			}
			if directives["script-src"] != hash(scripts[0][1]) || directives["style-src"] != hash(styles[0][1]) {
				t.Errorf("CSP hashes do not match the inline script/style: %q", csp)
			}
			if strings.Contains(page, "src=") || strings.Contains(page, "href=\"http") || strings.Contains(page, "//cdn") {
				t.Error("page loads external resources")
			}
			if strings.Count(page, "</script") != 1 || strings.Count(page, "</style") != 1 {
				t.Error("embedded script or style closes its element early")
			}
			if !strings.Contains(scripts[0][1], `fetch("openapi.json"`) {
				t.Error("renderer does not load openapi.json")
			}
		})
	}
	if a, b := s.do(http.MethodGet, "/docs", nil), s.do(http.MethodGet, "/redoc", nil); !strings.Contains(string(b.Raw), `data-layout="single"`) || bytes.Equal(a.Raw, b.Raw) {
		t.Error("/redoc should be the single-column layout of the same renderer")
	}
}

// TestDocsRendererRuns executes the page's script under a minimal DOM shim (testdata/docs_smoke.js)
// when Node.js is installed, and checks that every operation and response schema gets rendered.
func TestDocsRendererRuns(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; the renderer is only checked statically (TestDocsPages)")
	}
	d := loadDoc(t)
	for _, layout := range []string{"docs", "single"} {
		t.Run(layout, func(t *testing.T) {
			out, err := exec.Command(node, "testdata/docs_smoke.js", "docs.js", "openapi.json", layout).CombinedOutput()
			if err != nil {
				t.Fatalf("renderer failed: %v\n%s", err, out)
			}
			text := string(out)
			for _, op := range d.operations() {
				method, path, _ := strings.Cut(op, " ")
				if !strings.Contains(text, method+" "+path) && !strings.Contains(text, strings.ToLower(method)+path) {
					t.Errorf("operation %s not rendered", op)
				}
			}
			for name := range d.raw["components"].(map[string]any)["schemas"].(map[string]any) {
				if strings.HasSuffix(name, "Response") && !strings.Contains(text, "Schema: "+name) {
					t.Errorf("schema %s not rendered", name)
				}
			}
		})
	}
}

func TestCheckOrder(t *testing.T) {
	doc, err := jsonv.Parse([]byte(`{"components":{"schemas":{"In":{"type":"object","properties":{"x":{},"y":{}}}}},
		"s":{"type":"object","properties":{"a":{},"b":{"$ref":"#/components/schemas/In"}},"additionalProperties":false}}`))
	if err != nil {
		t.Fatal(err)
	}
	sch, _ := doc.Get("s")
	for body, want := range map[string]int{
		`{"a":1,"b":{"x":1,"y":2}}`: 0,
		`{"b":{"x":1,"y":2},"a":1}`: 1,
		`{"a":1,"b":{"y":1,"x":2}}`: 1,
		`{"a":1}`:                   0,
	} {
		inst, err := jsonv.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if got := checkOrder(doc, sch, inst, "body"); len(got) != want {
			t.Errorf("%s: problems %v, want %d", body, got, want)
		}
	}
}
