package jsonv

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPyFloat(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{15, "15.0"}, {1e-05, "1e-05"}, {1e16, "1e+16"}, {1.5e16, "1.5e+16"}, {0.0001, "0.0001"},
		{57.5, "57.5"}, {-0.5, "-0.5"}, {0, "0.0"}, {123456789012345.0, "123456789012345.0"},
		{55000.00000000001, "55000.00000000001"}, {0.30000000000000004, "0.30000000000000004"}, {1e300, "1e+300"},
		{2.5e-7, "2.5e-07"}, {9999999999999998, "9999999999999998.0"},
	} {
		t.Run(c.want, func(t *testing.T) {
			if got := PyFloat(c.in); got != c.want {
				t.Fatalf("PyFloat(%v) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestFixedFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{F0(42.5), "42"}, {F0(43.5), "44"}, {F0(-0.01), "-0"}, {F2(0.755), "0.76"}, {Pct1(0.8), "80.0%"},
		{Grp0(1234567.4), "1,234,567"}, {Grp0(-1000), "-1,000"}, {Grp0(999), "999"}, {Grp0(50000), "50,000"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if Round(0.32000000000000006, 10) != 0.32 {
		t.Errorf("Round")
	}
}

// The docs/api.md#determinism vector: the docs/api.md#counterfactual-examples counterfactual's seed material.
func TestSeedVectorW2(t *testing.T) {
	type dist struct {
		Type       string       `json:"type"`
		Parameters Map[float64] `json:"parameters"`
	}
	material := map[string]any{
		"model": map[string]any{
			"variables":     []string{"Price", "Revenue"},
			"equations":     Map[string]{{"Revenue", "10000 + 500 * Price"}},
			"distributions": Map[dist]{{"Price", dist{"normal", Map[float64]{{"mean", 50}, {"std", 5}}}}},
		},
		"intervention": Map[float64]{{"Price", 57.5}},
		"outcome":      "Revenue",
		"context":      nil,
		"preferences":  nil,
		"user_context": nil,
	}
	c, err := Canonical(material)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"context": null, "intervention": {"Price": 57.5}, "model": {"distributions": {"Price": {"parameters": {"mean": 50.0, "std": 5.0}, "type": "normal"}}, "equations": {"Revenue": "10000 + 500 * Price"}, "variables": ["Price", "Revenue"]}, "outcome": "Revenue", "preferences": null, "user_context": null}`
	if string(c) != want {
		t.Fatalf("canonical:\n%s\nwant\n%s", c, want)
	}
	h, _ := Hash8(material)
	if h != "0437fdb2" {
		t.Fatalf("hash8 = %s", h)
	}
	s, _ := Seed(material)
	if s != 70778290 {
		t.Fatalf("seed = %d", s)
	}
}

func TestCanonicalNilPointers(t *testing.T) {
	var m *Map[float64]
	c, err := Canonical(map[string]any{"ctx": m, "v": (*Value)(nil)})
	if err != nil || string(c) != `{"ctx": null, "v": null}` {
		t.Fatalf("got %s, %v", c, err)
	}
	m = &Map[float64]{{"a", 1}}
	if c, _ := Canonical(m); string(c) != `{"a": 1.0}` {
		t.Fatalf("got %s", c)
	}
}

func TestCanonicalStrings(t *testing.T) {
	c, err := Canonical(map[string]any{"é": "a\"b\\\n\u2192😀", "b": []any{true, nil, 3}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"b": [true, null, 3], "\u00e9": "a\"b\\\n\u2192\ud83d\ude00"}`
	if string(c) != want {
		t.Fatalf("got %s want %s", c, want)
	}
}

func TestParseOrderAndDuplicates(t *testing.T) {
	v, err := Parse([]byte(`{"b":1,"a":2.0,"b":3,"c":{"z":[1,"x",null,true]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(v.Obj.Keys(), ","); got != "b,a,c" {
		t.Fatalf("keys %s", got)
	}
	b, _ := v.Get("b")
	if b.Num != 3 || !b.IsInt() {
		t.Fatalf("b = %+v", b)
	}
	a, _ := v.Get("a")
	if a.IsInt() {
		t.Fatal("2.0 is not an int literal")
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"b":3,"a":2.0,"c":{"z":[1,"x",null,true]}}` {
		t.Fatalf("round trip %s", out)
	}
	c, _ := Canonical(v)
	if string(c) != `{"a": 2.0, "b": 3, "c": {"z": [1, "x", null, true]}}` {
		t.Fatalf("canonical %s", c)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a":}`, `[1,]`, `{"a":1} x`, `1e999`, strings.Repeat("[", 100) + strings.Repeat("]", 100), `{1:2}`} {
		t.Run(in, func(t *testing.T) {
			_, err := Parse([]byte(in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) err = %v, want SyntaxError", in, err)
			}
		})
	}
}

func TestPyRepr(t *testing.T) {
	if got := PyRepr(Map[any]{{"mean", 50.0}, {"it's", []string{"C"}}, {"ok", true}, {"n", nil}}); got != `{'mean': 50.0, "it's": ['C'], 'ok': True, 'n': None}` {
		t.Fatalf("got %s", got)
	}
	v, _ := Parse([]byte(`{"a":[1,2.5,"x"]}`))
	if got := PyRepr(v); got != `{'a': [1, 2.5, 'x']}` {
		t.Fatalf("got %s", got)
	}
	if PyStr("plain") != "plain" || PyStr(0.5) != "0.5" {
		t.Fatal("PyStr")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2,{"b":null}]}`, `"x"`, `1e5`, `[`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		v2, err := Parse(out)
		if err != nil {
			t.Fatalf("reparse %s: %v", out, err)
		}
		c1, err1 := Canonical(v)
		c2, err2 := Canonical(v2)
		if err1 != nil || err2 != nil || string(c1) != string(c2) {
			t.Fatalf("canonical unstable: %s vs %s", c1, c2)
		}
	})
}

// manyKeys is a 1 MB-class object of n distinct keys plus a duplicate of each tenth, the hostile
// body that a scanning Set made quadratic (100 000 keys: 18.6 CPU-seconds before the index).
func manyKeys(n int) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
		if i%10 == 0 {
			fmt.Fprintf(&b, `,"k%d":-1`, i/2)
		}
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// TestParseManyKeys: duplicate handling keeps the first position and the last value with any number
// of members (the cost is BenchmarkParseManyKeys' and the service's hostile-input suite's).
func TestParseManyKeys(t *testing.T) {
	v, err := Parse(manyKeys(1000))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Obj) != 1000 || v.Obj[0].Key != "k0" || v.Obj[0].Value.Num != -1 || v.Obj[999].Key != "k999" || v.Obj[2].Value.Num != 2 {
		t.Fatalf("members %d, first %+v", len(v.Obj), v.Obj[0])
	}
}

func BenchmarkParseManyKeys(b *testing.B) {
	body := manyKeys(100_000)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRequest: the /causal/validate example body, the size of most requests.
func BenchmarkParseRequest(b *testing.B) {
	body := []byte(`{"dag":{"nodes":["X","Y","Z"],"edges":[["Z","X"],["X","Y"],["Z","Y"]]},"treatment":"X","outcome":"Y"}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
