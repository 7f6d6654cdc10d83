package http

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/service/isl"
)

// MaxBodyBytes is docs/api.md#limits's request body limit.
const MaxBodyBytes = 1 << 20

// FieldError is one schema violation, in pydantic's shape (docs/api.md#errors).
type FieldError struct {
	Type  string         `json:"type"`
	Loc   []any          `json:"loc"`
	Msg   string         `json:"msg"`
	Input any            `json:"input"`
	Ctx   map[string]any `json:"ctx,omitempty"`
}

// Decoder walks a parsed body and records every schema violation instead of stopping at the first:
// the contract's 422 lists them all. Accessors return zero values after recording a violation, so a
// handler reads all its fields, then calls Err once.
type Decoder struct {
	errs    []FieldError
	omitted int // violations past MaxViolations: counted, not listed
}

// MaxViolations caps the 422 list, and echoLimit the echoed inputs: a 1 MB body of 100 000 bad
// members, each echoing its parent object, produced an 81 MB answer before. Past the cap the
// envelope says how many were left out (details.errors_omitted).
const (
	MaxViolations  = 50
	echoStrChars   = 128 // characters of an echoed string
	echoMembers    = 8   // members of an echoed array or object
	echoDepth      = 3   // nesting of an echoed value
	truncatedMark  = "…"
	truncatedCount = "__truncated__"
)

// Obj is an object being decoded at a location.
type Obj struct {
	d   *Decoder
	v   jsonv.Value
	loc []any
	ok  bool
}

// readBody parses the request body as one JSON value. Bad JSON is a 422 json_invalid; an oversize
// body a 413; a non-JSON content type a 415.
func readBody(r *http.Request) (jsonv.Value, error) {
	// The usual exact "application/json" needs no parsing (ParseMediaType allocates its map).
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return jsonv.Value{}, &isl.Error{Code: "unsupported_media_type", Message: "Content-Type must be application/json"}
		}
	}
	body, err := readAll(r.Body, r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonv.Value{}, &isl.Error{Code: isl.ETooLarge, Message: fmt.Sprintf("Request body exceeds %d bytes", mbe.Limit)}
		}
		return jsonv.Value{}, &isl.Error{Code: isl.EValidation, Message: "Could not read the request body", Err: err}
	}
	// Python's json.loads(bytes) decodes with utf-8-sig, so a leading BOM is not an error there.
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if len(body) == 0 {
		// FastAPI treats an empty body as an absent one: the required body is missing.
		return jsonv.Value{}, schemaError([]FieldError{{Type: "missing", Loc: []any{"body"}, Msg: "Field required", Input: nil}})
	}
	v, err := jsonv.Parse(body)
	if err != nil {
		return jsonv.Value{}, schemaError([]FieldError{jsonInvalid(body, err)})
	}
	return v, nil
}

// readAll is io.ReadAll into a buffer sized by the announced length (size < 0: unknown), so a
// small body costs one allocation of its own size, not io.ReadAll's 512 bytes and growth. A body
// that turns out longer than announced keeps growing as io.ReadAll's would.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size < 0 || size > MaxBodyBytes {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, size+1) // +1: the read that reports EOF needs room
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// jsonInvalid is FastAPI's json_invalid error: loc ["body", pos] with pos the character offset
// Python's json module reports, ctx.error its message.
func jsonInvalid(body []byte, err error) FieldError {
	runes := []rune(string(body))
	pos, msg, ok := pyJSONError(runes)
	if !ok {
		// Python would have parsed it (NaN, 1e999, deep nesting); report where our parser stopped,
		// converted from bytes to characters.
		var se *jsonv.SyntaxError
		off := int64(0)
		msg = err.Error()
		if errors.As(err, &se) {
			off, msg = se.Offset, se.Msg
		}
		off = min(max(off, 0), int64(len(body)))
		pos = utf8.RuneCount(body[:off])
	}
	return FieldError{Type: "json_invalid", Loc: []any{"body", pos}, Msg: "JSON decode error", Input: map[string]any{}, Ctx: map[string]any{"error": msg}}
}

func schemaError(errs []FieldError) *isl.Error {
	return &isl.Error{Code: isl.ESchema, Message: "Request validation failed", Details: map[string]any{"errors": errs}}
}

// echo is the bounded copy of an input that a violation echoes: strings cut to echoStrChars
// characters (marked with …), arrays and objects to their first echoMembers members (an object
// gets a "__truncated__" member, an array a last string element, saying how many were left out),
// nesting to echoDepth. Its cost is bounded by the limits, not by the input.
func echo(v jsonv.Value, depth int) jsonv.Value {
	switch v.Kind {
	case jsonv.String:
		if utf8.RuneCountInString(v.Str) > echoStrChars {
			return jsonv.Value{Kind: jsonv.String, Str: string([]rune(v.Str)[:echoStrChars]) + truncatedMark}
		}
	case jsonv.Array:
		if depth >= echoDepth && len(v.Arr) > 0 {
			return jsonv.Value{Kind: jsonv.String, Str: fmt.Sprintf("[%d items]", len(v.Arr))}
		}
		out := jsonv.Value{Kind: jsonv.Array, Arr: make([]jsonv.Value, 0, min(len(v.Arr), echoMembers+1))}
		for i, e := range v.Arr {
			if i == echoMembers {
				out.Arr = append(out.Arr, jsonv.Value{Kind: jsonv.String, Str: fmt.Sprintf("… %d more items", len(v.Arr)-i)})
				break
			}
			out.Arr = append(out.Arr, echo(e, depth+1))
		}
		return out
	case jsonv.Object:
		if depth >= echoDepth && len(v.Obj) > 0 {
			return jsonv.Value{Kind: jsonv.String, Str: fmt.Sprintf("{%d members}", len(v.Obj))}
		}
		out := jsonv.Value{Kind: jsonv.Object, Obj: make(jsonv.Map[jsonv.Value], 0, min(len(v.Obj), echoMembers+1))}
		for i, e := range v.Obj {
			if i == echoMembers {
				n := len(v.Obj) - i
				out.Obj = append(out.Obj, jsonv.Entry[jsonv.Value]{Key: truncatedCount, Value: jsonv.Value{Kind: jsonv.Number, Num: float64(n), Lit: fmt.Sprint(n)}})
				break
			}
			k := e.Key
			if utf8.RuneCountInString(k) > echoStrChars {
				k = string([]rune(k)[:echoStrChars]) + truncatedMark
			}
			out.Obj = append(out.Obj, jsonv.Entry[jsonv.Value]{Key: k, Value: echo(e.Value, depth+1)})
		}
		return out
	}
	return v
}

// Decode reads the request body and returns the decoder positioned on the body object.
func Decode(r *http.Request) (*Decoder, Obj, error) {
	v, err := readBody(r)
	if err != nil {
		return nil, Obj{}, err
	}
	d := &Decoder{}
	return d, d.Root(v), nil
}

// Root checks that v is an object (pydantic's model_attributes_type) at loc ["body"].
func (d *Decoder) Root(v jsonv.Value) Obj {
	return d.asObj(v, []any{"body"}, "model_attributes_type")
}

// Err returns the 422 error listing every violation, or nil.
func (d *Decoder) Err() error {
	if len(d.errs) == 0 {
		return nil
	}
	e := schemaError(d.errs)
	if d.omitted > 0 {
		e.Details["errors_omitted"] = d.omitted
	}
	return e
}

// Fail records a violation at loc: the first MaxViolations in full (the input echoed within the
// echo limits), the rest only counted.
func (d *Decoder) Fail(typ string, loc []any, msg string, input any, ctx map[string]any) {
	if len(d.errs) >= MaxViolations {
		d.omitted++
		return
	}
	if v, ok := input.(jsonv.Value); ok {
		input = echo(v, 0)
	}
	for k, c := range ctx {
		if v, ok := c.(jsonv.Value); ok {
			ctx[k] = echo(v, 0)
		}
	}
	l := append([]any(nil), loc...)
	for i, k := range l {
		if s, ok := k.(string); ok && utf8.RuneCountInString(s) > echoStrChars {
			l[i] = string([]rune(s)[:echoStrChars]) + truncatedMark
		}
	}
	d.errs = append(d.errs, FieldError{Type: typ, Loc: l, Msg: msg, Input: input, Ctx: ctx})
}

func (d *Decoder) asObj(v jsonv.Value, loc []any, typ string) Obj {
	if v.Kind != jsonv.Object {
		msg := "Input should be a valid dictionary"
		if typ == "model_attributes_type" {
			msg = "Input should be a valid dictionary or object to extract fields from"
		}
		d.Fail(typ, loc, msg, v, nil)
		return Obj{d: d, loc: loc}
	}
	return Obj{d: d, v: v, loc: loc, ok: true}
}

// OK reports whether the object itself was well-formed (fields may still have failed).
func (o Obj) OK() bool { return o.ok }

// Value is the raw object.
func (o Obj) Value() jsonv.Value { return o.v }

// Loc is the object's location, for callers that add their own violations.
func (o Obj) Loc(key ...any) []any { return append(append([]any(nil), o.loc...), key...) }

// at is the location of member key, built when called (the checks' lazy form of Loc).
func (o Obj) at(key string) func() []any { return func() []any { return o.Loc(key) } }

// field looks key up. present=false when absent; for required fields that records "missing".
func (o Obj) field(key string, required bool) (jsonv.Value, bool) {
	if !o.ok {
		return jsonv.Value{}, false
	}
	v, ok := o.v.Get(key)
	if !ok {
		if required {
			o.d.Fail("missing", o.Loc(key), "Field required", o.v, nil)
		}
		return jsonv.Value{}, false
	}
	return v, true
}

// Field returns the raw member (required=false: absent is fine).
func (o Obj) Field(key string, required bool) (jsonv.Value, bool) { return o.field(key, required) }

// nullable reports an explicit null for an optional field (absent or null → not present).
func (o Obj) nullable(key string) (jsonv.Value, bool) {
	v, ok := o.field(key, false)
	if !ok || v.Kind == jsonv.Null {
		return jsonv.Value{}, false
	}
	return v, true
}

// The checks take the location as a function: it is built (allocated) only when a violation is
// recorded, so well-formed input costs no location slices.

func (d *Decoder) str(v jsonv.Value, loc func() []any) (string, bool) {
	if v.Kind != jsonv.String {
		d.Fail("string_type", loc(), "Input should be a valid string", v, nil)
		return "", false
	}
	return v.Str, true
}

func (d *Decoder) num(v jsonv.Value, loc func() []any) (float64, bool) {
	if v.Kind != jsonv.Number {
		d.Fail("float_type", loc(), "Input should be a valid number", v, nil)
		return 0, false
	}
	if math.IsInf(v.Num, 0) || math.IsNaN(v.Num) {
		d.Fail("finite_number", loc(), "Input should be a finite number", v, nil)
		return 0, false
	}
	return v.Num, true
}

func (d *Decoder) integer(v jsonv.Value, loc func() []any) (int, bool) {
	if v.Kind != jsonv.Number {
		d.Fail("int_type", loc(), "Input should be a valid integer", v, nil)
		return 0, false
	}
	if v.Num != math.Trunc(v.Num) {
		d.Fail("int_from_float", loc(), "Input should be a valid integer, got a number with a fractional part", v, nil)
		return 0, false
	}
	if math.Abs(v.Num) > 1<<53 {
		d.Fail("int_parsing_size", loc(), "Unable to parse input string as an integer, exceeded maximum size", v, nil)
		return 0, false
	}
	return int(v.Num), true
}

// Str reads a required string.
func (o Obj) Str(key string) string {
	v, ok := o.field(key, true)
	if !ok {
		return ""
	}
	s, _ := o.d.str(v, o.at(key))
	return s
}

// OptStr reads an optional (nullable) string; nil when absent or null.
func (o Obj) OptStr(key string) *string {
	v, ok := o.nullable(key)
	if !ok {
		return nil
	}
	s, ok := o.d.str(v, o.at(key))
	if !ok {
		return nil
	}
	return &s
}

// Num reads a required number.
func (o Obj) Num(key string) float64 {
	v, ok := o.field(key, true)
	if !ok {
		return 0
	}
	f, _ := o.d.num(v, o.at(key))
	return f
}

// NumDefault reads a number that may be absent (then def); explicit null is a violation.
func (o Obj) NumDefault(key string, def float64) float64 {
	v, ok := o.field(key, false)
	if !ok {
		return def
	}
	f, ok := o.d.num(v, o.at(key))
	if !ok {
		return def
	}
	return f
}

// Bound records ge/le violations of a number already read. Pass NaN to skip a side.
func (o Obj) Bound(key string, x, ge, le float64) bool {
	if !o.ok {
		return false
	}
	v, _ := o.v.Get(key)
	switch {
	case !math.IsNaN(ge) && x < ge:
		o.d.Fail("greater_than_equal", o.Loc(key), "Input should be greater than or equal to "+jsonNum(ge), v, map[string]any{"ge": ge})
		return false
	case !math.IsNaN(le) && x > le:
		o.d.Fail("less_than_equal", o.Loc(key), "Input should be less than or equal to "+jsonNum(le), v, map[string]any{"le": le})
		return false
	}
	return true
}

func jsonNum(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return fmt.Sprintf("%d", int64(x))
	}
	return jsonv.PyFloat(x)
}

// IntDefault reads an integer field with a default and inclusive bounds.
func (o Obj) IntDefault(key string, def, ge, le int) int {
	v, ok := o.field(key, false)
	if !ok {
		return def
	}
	if v.Kind == jsonv.Number && v.Num == math.Trunc(v.Num) && math.Abs(v.Num) > 1<<53 {
		// pydantic ints are unbounded, so a huge integral value is a bound violation, not a parse
		// error; our bounds are always finite.
		o.Bound(key, v.Num, float64(ge), float64(le))
		return def
	}
	n, ok := o.d.integer(v, o.at(key))
	if !ok {
		return def
	}
	if !o.Bound(key, float64(n), float64(ge), float64(le)) {
		return def
	}
	return n
}

// Enum reads a string that must be one of allowed; def is used when absent (def=="" → required).
func (o Obj) Enum(key string, allowed []string, def string) string {
	v, ok := o.field(key, def == "")
	if !ok {
		return def
	}
	// pydantic's enum validator looks the input up among the members, so a non-string (null
	// included) is an `enum` error, not a string_type one.
	if v.Kind == jsonv.String {
		for _, a := range allowed {
			if v.Str == a {
				return v.Str
			}
		}
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = "'" + a + "'"
	}
	exp := strings.Join(quoted, ", ")
	if n := len(quoted); n > 1 {
		exp = strings.Join(quoted[:n-1], ", ") + " or " + quoted[n-1]
	}
	o.d.Fail("enum", o.Loc(key), "Input should be "+exp, v, map[string]any{"expected": exp})
	return def
}

// Object reads a required object member.
func (o Obj) Object(key string) Obj {
	v, ok := o.field(key, true)
	if !ok {
		return Obj{d: o.d, loc: o.Loc(key)}
	}
	return o.d.asObj(v, o.Loc(key), "model_attributes_type")
}

// OptObject reads an optional (nullable) object member; present=false when absent or null.
func (o Obj) OptObject(key string) (Obj, bool) {
	v, ok := o.nullable(key)
	if !ok {
		return Obj{d: o.d, loc: o.Loc(key)}, false
	}
	obj := o.d.asObj(v, o.Loc(key), "model_attributes_type")
	return obj, obj.ok
}

// OptDict reads an optional (nullable) free-form object (pydantic Dict[str, Any]: a non-object is
// dict_type, not model_attributes_type); present=false when absent or null.
func (o Obj) OptDict(key string) (Obj, bool) {
	v, ok := o.nullable(key)
	if !ok {
		return Obj{d: o.d, loc: o.Loc(key)}, false
	}
	obj := o.d.asObj(v, o.Loc(key), "dict_type")
	return obj, obj.ok
}

// List reads a required array and returns its items with their locations.
func (o Obj) List(key string) ([]jsonv.Value, bool) {
	v, ok := o.field(key, true)
	if !ok {
		return nil, false
	}
	return o.d.list(v, o.at(key))
}

// OptList reads an optional (nullable) array.
func (o Obj) OptList(key string) ([]jsonv.Value, bool) {
	v, ok := o.nullable(key)
	if !ok {
		return nil, false
	}
	return o.d.list(v, o.at(key))
}

func (d *Decoder) list(v jsonv.Value, loc func() []any) ([]jsonv.Value, bool) {
	if v.Kind != jsonv.Array {
		d.Fail("list_type", loc(), "Input should be a valid list", v, nil)
		return nil, false
	}
	return v.Arr, true
}

// Item turns element i of a list read from key into an object.
func (o Obj) Item(key string, i int, v jsonv.Value) Obj {
	return o.d.asObj(v, o.Loc(key, i), "model_attributes_type")
}

// StrList reads a required array of strings.
func (o Obj) StrList(key string) []string {
	items, ok := o.List(key)
	if !ok {
		return nil
	}
	return o.d.strs(items, o.at(key))
}

// OptStrList reads an optional (nullable) array of strings; nil when absent or null.
func (o Obj) OptStrList(key string) ([]string, bool) {
	items, ok := o.OptList(key)
	if !ok {
		return nil, false
	}
	return o.d.strs(items, o.at(key)), true
}

func (d *Decoder) strs(items []jsonv.Value, loc func() []any) []string {
	out := make([]string, 0, len(items))
	for i, it := range items {
		if s, ok := d.str(it, func() []any { return append(loc(), i) }); ok {
			out = append(out, s)
		}
	}
	return out
}

// NumMap reads a required object of numbers, in order.
func (o Obj) NumMap(key string) jsonv.Map[float64] {
	v, ok := o.field(key, true)
	if !ok {
		return nil
	}
	return o.d.numMap(v, o.Loc(key))
}

// OptNumMap reads an optional (nullable) object of numbers.
func (o Obj) OptNumMap(key string) (jsonv.Map[float64], bool) {
	v, ok := o.nullable(key)
	if !ok {
		return nil, false
	}
	return o.d.numMap(v, o.Loc(key)), true
}

func (d *Decoder) numMap(v jsonv.Value, loc []any) jsonv.Map[float64] {
	obj := d.asObj(v, loc, "dict_type")
	if !obj.ok {
		return nil
	}
	out := make(jsonv.Map[float64], 0, len(v.Obj))
	for _, e := range v.Obj {
		if f, ok := d.num(e.Value, obj.at(e.Key)); ok {
			out = append(out, jsonv.Entry[float64]{Key: e.Key, Value: f})
		}
	}
	return out
}

// StrMap reads a required object of strings, in order.
func (o Obj) StrMap(key string) jsonv.Map[string] {
	v, ok := o.field(key, true)
	if !ok {
		return nil
	}
	obj := o.d.asObj(v, o.Loc(key), "dict_type")
	if !obj.ok {
		return nil
	}
	out := make(jsonv.Map[string], 0, len(v.Obj))
	for _, e := range v.Obj {
		if s, ok := o.d.str(e.Value, obj.at(e.Key)); ok {
			out = append(out, jsonv.Entry[string]{Key: e.Key, Value: s})
		}
	}
	return out
}

// Members iterates a required object-of-objects (e.g. distributions), giving each member as an Obj.
func (o Obj) Members(key string) []jsonv.Entry[Obj] {
	v, ok := o.field(key, true)
	if !ok {
		return nil
	}
	obj := o.d.asObj(v, o.Loc(key), "dict_type")
	if !obj.ok {
		return nil
	}
	out := make([]jsonv.Entry[Obj], 0, len(v.Obj))
	for _, e := range v.Obj {
		out = append(out, jsonv.Entry[Obj]{Key: e.Key, Value: o.d.asObj(e.Value, obj.Loc(e.Key), "model_attributes_type")})
	}
	return out
}

// Any reads a required member of any JSON type (including null).
func (o Obj) Any(key string) (jsonv.Value, bool) { return o.field(key, true) }
