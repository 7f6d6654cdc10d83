package jsonv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// slowParse is the encoding/json-based parser alone: the oracle for parseFast.
func slowParse(data []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := parser{dec: dec}
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	if _, err := dec.Token(); err == nil {
		return Value{}, &SyntaxError{Msg: "extra data"}
	} else if err.Error() != "EOF" {
		return Value{}, err
	}
	return v, nil
}

var scanCases = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e3`, `-2E-7`, `1e+2`, `12345678901234567890`,
	` {"a" : [1, 2.0, {"b": null}], "c": "x"} `, `{"a":1,"a":2,"b":3,"a":4}`, `"\u00e9\ud83d\ude00\n\t\"\\\/"`,
	`{"k":"caf\u00e9 ☕"}`, `[[[[]]]]`, `{"":""}`, "{\"a\":\n[\r\n]}",
	// Malformed or outside the fast path: both must agree (fast gives up, slow decides).
	`{`, `[1,]`, `{"a":1,}`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `tru`, `nul`, `"abc`, `{"a" 1}`, `[1 2]`, `1 2`,
	`"\x"`, `"\u12"`, "\"a\x01b\"", `"\ud800"`, `"\ud800\u0041"`, "\"\xff\"", `1e999`, `{"a":1}x`, `NaN`,
	strings.Repeat("[", 70) + strings.Repeat("]", 70),
}

// parseFast must build exactly the slow parser's Value, and give up wherever the slow parser fails.
func TestParseFastMatchesDecoder(t *testing.T) {
	var big strings.Builder
	big.WriteString("{")
	for i := range 300 {
		if i > 0 {
			big.WriteString(",")
		}
		big.WriteString(`"k` + string(rune('a'+i%26)) + string(rune('a'+i%7)) + `":` + "1")
	}
	big.WriteString("}")
	for _, c := range append(scanCases, big.String()) {
		checkFast(t, []byte(c))
	}
}

func checkFast(t *testing.T, data []byte) {
	t.Helper()
	fast, ok := parseFast(data)
	slow, err := slowParse(data)
	switch {
	case ok && err != nil:
		t.Fatalf("%q: fast accepted what the decoder rejects (%v)", data, err)
	case ok && !reflect.DeepEqual(fast, slow):
		t.Fatalf("%q: fast %#v, decoder %#v", data, fast, slow)
	}
	// Parse is the same either way.
	if v, err2 := Parse(data); (err2 == nil) != (err == nil) || err == nil && !reflect.DeepEqual(v, slow) {
		t.Fatalf("%q: Parse %v %v, decoder %v", data, v, err2, err)
	}
}

func FuzzParseFast(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Count(data, []byte("[")) > 200 || bytes.Count(data, []byte("{")) > 200 {
			return
		}
		checkFast(t, data)
	})
}

// Containers share slabs (carve) but each has its exact capacity:
// appending to one parsed container copies it out and never writes into its neighbour; documents
// with more containers than the first slab holds span several slabs.
func TestSlabWindowsAreIsolated(t *testing.T) {
	v, err := Parse([]byte(`{"a":[[1,2],[3,4]],"b":{"x":1},"c":{"y":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	arr, _ := v.Get("a")
	first := append(arr.Arr[0].Arr, Value{Kind: Number, Num: 9, Lit: "9"})
	first[0].Num = 7
	b, _ := v.Get("b")
	b.Obj = append(b.Obj, Entry[Value]{Key: "z", Value: Value{Kind: Null}})
	if got, _ := v.MarshalJSON(); string(got) != `{"a":[[1,2],[3,4]],"b":{"x":1},"c":{"y":2}}` {
		t.Fatalf("the document changed under appends to its containers: %s", got)
	}

	var doc strings.Builder
	doc.WriteString("[")
	for i := range 500 {
		if i > 0 {
			doc.WriteString(",")
		}
		fmt.Fprintf(&doc, `{"k":[%d,{"n":%d}]}`, i, i)
	}
	doc.WriteString("]")
	v, err = Parse([]byte(doc.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := v.MarshalJSON(); string(got) != doc.String() {
		t.Fatalf("a document across several slabs reads back as\n%.200s…", got)
	}
}
