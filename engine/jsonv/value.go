// Package jsonv holds JSON values whose object member order is kept (the contract makes order
// significant: output order, RNG draw order, texts), the canonical encoding used to seed per-request
// RNGs (docs/api.md#determinism), and the number formatting helpers the contract's templates name (f0, pyfloat, ...).
package jsonv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Kind is the JSON type of a Value.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	return [...]string{"null", "bool", "number", "string", "array", "object"}[k]
}

// Value is one parsed JSON value. Objects keep the first position of each key and the last value
// (the contract's rule for duplicate keys).
type Value struct {
	Kind Kind
	Bool bool
	Num  float64
	// Lit is the number's literal text: whether it was written as an integer matters for
	// `integer` fields and for the canonical form of `any` values.
	Lit string
	Str string
	Arr []Value
	Obj Map[Value]
}

// IsInt reports whether a number was written without fraction or exponent.
func (v Value) IsInt() bool {
	return v.Kind == Number && !strings.ContainsAny(v.Lit, ".eE")
}

// Get returns the member k of an object value.
func (v Value) Get(k string) (Value, bool) {
	if v.Kind != Object {
		return Value{}, false
	}
	return v.Obj.Get(k)
}

// Interface converts v to plain Go values: nil, bool, float64, string, []any, Map[any].
func (v Value) Interface() any {
	switch v.Kind {
	case Bool:
		return v.Bool
	case Number:
		return v.Num
	case String:
		return v.Str
	case Array:
		out := make([]any, len(v.Arr))
		for i, e := range v.Arr {
			out[i] = e.Interface()
		}
		return out
	case Object:
		out := make(Map[any], len(v.Obj))
		for i, e := range v.Obj {
			out[i] = Entry[any]{e.Key, e.Value.Interface()}
		}
		return out
	}
	return nil
}

// MarshalJSON writes the value back with its object order.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.Kind {
	case Null:
		return []byte("null"), nil
	case Bool:
		return strconv.AppendBool(nil, v.Bool), nil
	case Number:
		if v.Lit != "" {
			return []byte(v.Lit), nil
		}
		return json.Marshal(v.Num)
	case String:
		return json.Marshal(v.Str)
	case Array:
		if v.Arr == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(v.Arr)
	default:
		return v.Obj.MarshalJSON()
	}
}

// SyntaxError reports malformed JSON with the byte offset where decoding failed.
type SyntaxError struct {
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

// MaxDepth bounds nesting so that hostile payloads cannot exhaust the stack.
const MaxDepth = 64

// Parse decodes exactly one JSON value. Trailing non-space data is an error.
func Parse(data []byte) (Value, error) {
	if v, ok := parseFast(data); ok {
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := parser{dec: dec}
	v, err := p.value(0)
	if err != nil {
		return Value{}, p.wrap(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("extra data after the JSON value")
		}
		return Value{}, p.wrap(err)
	}
	return v, nil
}

type parser struct{ dec *json.Decoder }

func (p *parser) wrap(err error) error {
	var se *SyntaxError
	if errors.As(err, &se) {
		return se
	}
	var js *json.SyntaxError
	if errors.As(err, &js) {
		return &SyntaxError{Offset: js.Offset, Msg: js.Error()}
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &SyntaxError{Offset: p.dec.InputOffset(), Msg: "unexpected end of JSON input"}
	}
	return &SyntaxError{Offset: p.dec.InputOffset(), Msg: err.Error()}
}

func (p *parser) value(depth int) (Value, error) {
	if depth > MaxDepth {
		return Value{}, &SyntaxError{Offset: p.dec.InputOffset(), Msg: fmt.Sprintf("nesting deeper than %d", MaxDepth)}
	}
	tok, err := p.dec.Token()
	if err != nil {
		return Value{}, err
	}
	switch t := tok.(type) {
	case nil:
		return Value{Kind: Null}, nil
	case bool:
		return Value{Kind: Bool, Bool: t}, nil
	case string:
		return Value{Kind: String, Str: t}, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			// Out of float64 range: Python would give inf; we refuse it as invalid input.
			return Value{}, &SyntaxError{Offset: p.dec.InputOffset(), Msg: "number out of range: " + string(t)}
		}
		return Value{Kind: Number, Num: f, Lit: string(t)}, nil
	case json.Delim:
		switch t {
		case '[':
			arr := []Value{}
			for p.dec.More() {
				e, err := p.value(depth + 1)
				if err != nil {
					return Value{}, err
				}
				arr = append(arr, e)
			}
			if _, err := p.dec.Token(); err != nil {
				return Value{}, err
			}
			return Value{Kind: Array, Arr: arr}, nil
		case '{':
			// The index keeps duplicate-key handling linear: a 1 MB object of 100 000 keys decodes in
			// milliseconds instead of the seconds a scan per key would cost.
			obj := Map[Value]{}
			var index map[string]int
			for p.dec.More() {
				kt, err := p.dec.Token()
				if err != nil {
					return Value{}, err
				}
				k, ok := kt.(string)
				if !ok {
					return Value{}, &SyntaxError{Offset: p.dec.InputOffset(), Msg: "object key must be a string"}
				}
				e, err := p.value(depth + 1)
				if err != nil {
					return Value{}, err
				}
				if index == nil {
					index = map[string]int{}
				}
				if i, dup := index[k]; dup {
					obj[i].Value = e
				} else {
					index[k] = len(obj)
					obj = append(obj, Entry[Value]{k, e})
				}
			}
			if _, err := p.dec.Token(); err != nil {
				return Value{}, err
			}
			return Value{Kind: Object, Obj: obj}, nil
		}
	}
	return Value{}, &SyntaxError{Offset: p.dec.InputOffset(), Msg: fmt.Sprintf("unexpected token %v", tok)}
}
