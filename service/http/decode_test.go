package http

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/olumi/isl/engine/jsonv"
)

type pyJSONCase struct {
	Body  string `json:"body"`
	Valid bool   `json:"valid"`
	Pos   int    `json:"pos"`
	Msg   string `json:"msg"`
}

// loadPyJSONCases reads vectors produced by CPython 3.11's json.loads (JSONDecodeError.pos/.msg).
func loadPyJSONCases(t testing.TB) []pyJSONCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/json_invalid_python.json")
	if err != nil {
		t.Fatal(err)
	}
	var cs []pyJSONCase
	if err := json.Unmarshal(raw, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

// docs/api.md#errors: bad JSON is json_invalid at ["body", <char offset>], the offset Python's json reports.
func TestJSONInvalidPositionMatchesPython(t *testing.T) {
	for _, c := range loadPyJSONCases(t) {
		t.Run(c.Body, func(t *testing.T) {
			pos, msg, ok := pyJSONError([]rune(c.Body))
			if ok == c.Valid {
				t.Fatalf("ok = %v, python valid = %v", ok, c.Valid)
			}
			if !c.Valid && (pos != c.Pos || msg != c.Msg) {
				t.Fatalf("got (%d, %q), python (%d, %q)", pos, msg, c.Pos, c.Msg)
			}
		})
	}
	s := newTestServer(t, nil, nil)
	for _, c := range loadPyJSONCases(t) {
		if c.Valid || c.Body == "" {
			continue
		}
		r := s.post(causalPath, c.Body)
		r.envelope(t, 422, "validation_error")
		e := field(r, "details", "errors").Arr[0]
		if got := plain(t, mustGet(t, e, "loc")); !reflect.DeepEqual(got, []any{"body", float64(c.Pos)}) {
			t.Errorf("%q: loc %v, want [body %d]", c.Body, got, c.Pos)
		}
		if typ, _ := e.Get("type"); typ.Str != "json_invalid" {
			t.Errorf("%q: %s", c.Body, r.Raw)
		}
	}
}

func mustGet(t *testing.T, v jsonv.Value, k string) jsonv.Value {
	t.Helper()
	x, ok := v.Get(k)
	if !ok {
		t.Fatalf("no %q in %v", k, v)
	}
	return x
}

// Bodies Python accepts but our parser refuses still get a character (not byte) offset.
func TestJSONInvalidFallbackCountsCharacters(t *testing.T) {
	fe := jsonInvalid([]byte(`{"é":1e999}`), &jsonv.SyntaxError{Offset: 11, Msg: "number out of range"})
	if !reflect.DeepEqual(fe.Loc, []any{"body", 10}) {
		t.Fatalf("loc %v", fe.Loc)
	}
}

// FastAPI treats an empty body as absent: 422 missing at ["body"]; a UTF-8 BOM is accepted
// (json.loads(bytes) decodes utf-8-sig).
func TestEmptyBodyAndBOM(t *testing.T) {
	s := newTestServer(t, nil, nil)
	r := s.post(causalPath, "")
	r.envelope(t, 422, "validation_error")
	want := []any{map[string]any{"type": "missing", "loc": []any{"body"}, "msg": "Field required", "input": nil}}
	if got := plain(t, field(r, "details", "errors")); !reflect.DeepEqual(got, want) {
		t.Fatalf("errors %v", got)
	}
	r = s.post(causalPath, "\xef\xbb\xbf"+`{"dag":{"nodes":["X","Y"],"edges":[["X","Y"]]},"treatment":"X","outcome":"Y"}`)
	if r.Status != http.StatusOK {
		t.Fatalf("BOM body: %d %s", r.Status, r.Raw)
	}
}

// pydantic's enum validator reports any non-member, null and numbers included, as `enum`.
func TestEnumRejectsNonStringsAsEnum(t *testing.T) {
	for _, in := range []string{`null`, `1`, `"C"`, `["A"]`} {
		v, err := jsonv.Parse([]byte(`{"response":` + in + `}`))
		if err != nil {
			t.Fatal(err)
		}
		d := &Decoder{}
		got := d.Root(v).Enum("response", []string{"A", "B", "indifferent"}, "")
		if got != "" || len(d.errs) != 1 {
			t.Fatalf("%s: got %q errs %v", in, got, d.errs)
		}
		e := d.errs[0]
		if e.Type != "enum" || e.Msg != "Input should be 'A', 'B' or 'indifferent'" ||
			!reflect.DeepEqual(e.Ctx, map[string]any{"expected": "'A', 'B' or 'indifferent'"}) ||
			!reflect.DeepEqual(e.Loc, []any{"body", "response"}) {
			t.Fatalf("%s: %+v", in, e)
		}
	}
}

// FuzzPyJSONError: the locator never panics, and whatever our parser accepts Python accepts too
// (so a 422's position always comes from a real Python error or from our own parser).
func FuzzPyJSONError(f *testing.F) {
	for _, c := range loadPyJSONCases(f) {
		f.Add(c.Body)
	}
	f.Add(`{"a":[1,2,{"b":null}],"c":"\u00e9\ud83d\ude00"}`)
	f.Fuzz(func(t *testing.T, s string) {
		pos, _, ok := pyJSONError([]rune(s))
		if ok && (pos < 0 || pos > len([]rune(s))) {
			t.Fatalf("pos %d out of range for %q", pos, s)
		}
		if _, err := jsonv.Parse([]byte(s)); err == nil && ok {
			t.Fatalf("%q parses but the locator reports an error at %d", s, pos)
		}
	})
}

// Free-form `object|null` members are pydantic Dict[str, Any]: a non-object is dict_type.
func TestFreeFormObjectIsDictType(t *testing.T) {
	s := newTestServer(t, nil, nil)
	r := s.post(cfPath, `{"model":{"variables":[],"equations":{},"distributions":{}},"intervention":{},"outcome":"Y","preferences":"x","user_context":[1]}`)
	r.envelope(t, 422, "validation_error")
	want := []any{
		map[string]any{"type": "dict_type", "loc": []any{"body", "preferences"}, "msg": "Input should be a valid dictionary", "input": "x"},
		map[string]any{"type": "dict_type", "loc": []any{"body", "user_context"}, "msg": "Input should be a valid dictionary", "input": []any{float64(1)}},
	}
	if got := plain(t, field(r, "details", "errors")); !reflect.DeepEqual(got, want) {
		t.Fatalf("errors %v", got)
	}
}

// Integer fields: integral floats are accepted (docs/api.md#requests), and a huge integral value is a bound
// violation as in pydantic (unbounded ints), not a parse failure.
func TestIntegerFieldBounds(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    int
		errType string
	}{
		{`3.0`, 3, ""},
		{`1e0`, 1, ""},
		{`3.5`, 5, "int_from_float"},
		{`0`, 5, "greater_than_equal"},
		{`1e20`, 5, "less_than_equal"},
		{`100000000000000000000000`, 5, "less_than_equal"},
		{`-1e20`, 5, "greater_than_equal"},
		{`null`, 5, "int_type"},
		{`"3"`, 5, "int_type"},
	} {
		v, err := jsonv.Parse([]byte(`{"n":` + c.in + `}`))
		if err != nil {
			t.Fatal(err)
		}
		d := &Decoder{}
		got := d.Root(v).IntDefault("n", 5, 1, 10)
		var typ string
		if len(d.errs) > 0 {
			typ = d.errs[0].Type
		}
		if got != c.want || typ != c.errType || len(d.errs) > 1 {
			t.Errorf("%s: got %d %v, want %d %q", c.in, got, d.errs, c.want, c.errType)
		}
	}
}

// readAll returns the whole body whatever the announced length says: exact, short, long or
// unknown, and passes read errors (the 413 of MaxBytesReader) through.
func TestReadAll(t *testing.T) {
	body := strings.Repeat("x", 3000)
	for _, c := range []struct {
		name     string
		announce int64
	}{{"exact", 3000}, {"unknown", -1}, {"short", 10}, {"long", 5000}, {"empty", 0}, {"over the cap", MaxBodyBytes + 1}} {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(iotest.OneByteReader(strings.NewReader(body)), c.announce)
			if err != nil || string(got) != body {
				t.Fatalf("%d bytes, %v", len(got), err)
			}
		})
	}
	_, err := readAll(http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(body)), 100), 3000)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		t.Fatalf("err = %v, want *http.MaxBytesError", err)
	}
}
