package jsonv

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// UnmarshalJSON parses into a Value keeping object order.
func (v *Value) UnmarshalJSON(data []byte) error {
	p, err := Parse(data)
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Canonical encodes v in the form of Python's json.dumps(sort_keys=True, ensure_ascii=True) (docs/api.md#determinism):
// keys sorted by code point, separators ", " and ": ", non-ASCII as lowercase \uXXXX, float64 as
// pyfloat (50 → 50.0), integers and Value numbers written as integers as they were parsed.
// Supported: nil, bool, string, ints, floats, Value, Map[V], slices, maps with string keys, pointers,
// and structs (by their json tag names; `json:"-"` skipped). It is stable across processes and
// releases because it depends on nothing but the values.
func Canonical(v any) ([]byte, error) {
	var b strings.Builder
	if err := canon(&b, reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// Seed is the first 8 hex digits of SHA-256(Canonical(material)) as a uint32 (docs/api.md#determinism).
func Seed(material any) (uint32, error) {
	c, err := Canonical(material)
	if err != nil {
		return 0, fmt.Errorf("canonical seed material: %w", err)
	}
	sum := sha256.Sum256(c)
	return binary.BigEndian.Uint32(sum[:4]), nil
}

// Hash8 is the first 8 hex digits of SHA-256(Canonical(material)), used in query ids (docs/api.md#query-ids).
func Hash8(material any) (string, error) {
	c, err := Canonical(material)
	if err != nil {
		return "", fmt.Errorf("canonical hash material: %w", err)
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:4]), nil
}

var valueType = reflect.TypeOf(Value{})

func canon(b *strings.Builder, rv reflect.Value) error {
	if !rv.IsValid() {
		b.WriteString("null")
		return nil
	}
	if k := rv.Kind(); k == reflect.Interface || k == reflect.Pointer {
		if rv.IsNil() {
			b.WriteString("null")
			return nil
		}
		return canon(b, rv.Elem())
	}
	if rv.Type() == valueType {
		return canonValue(b, rv.Interface().(Value))
	}
	if rv.CanInterface() {
		if co, ok := rv.Interface().(canonObject); ok {
			if rv.Kind() == reflect.Slice && rv.IsNil() {
				b.WriteString("null")
				return nil
			}
			return canonEntries(b, co.canonEntries())
		}
	}
	switch rv.Kind() {
	case reflect.Interface, reflect.Pointer:
		if rv.IsNil() {
			b.WriteString("null")
			return nil
		}
		return canon(b, rv.Elem())
	case reflect.Bool:
		b.WriteString(map[bool]string{true: "true", false: "false"}[rv.Bool()])
	case reflect.String:
		canonString(b, rv.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(rv.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString(strconv.FormatUint(rv.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("non-finite number %v", f)
		}
		b.WriteString(PyFloat(f))
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			b.WriteString("null")
			return nil
		}
		b.WriteByte('[')
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := canon(b, rv.Index(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case reflect.Map:
		if rv.IsNil() {
			b.WriteString("null")
			return nil
		}
		if rv.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("map key type %s is not string", rv.Type().Key())
		}
		var es []Entry[any]
		iter := rv.MapRange()
		for iter.Next() {
			es = append(es, Entry[any]{iter.Key().String(), iter.Value().Interface()})
		}
		return canonEntries(b, es)
	case reflect.Struct:
		var es []Entry[any]
		t := rv.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, ok := f.Tag.Lookup("json"); ok {
				n, _, _ := strings.Cut(tag, ",")
				if n == "-" {
					continue
				}
				if n != "" {
					name = n
				}
			}
			es = append(es, Entry[any]{name, rv.Field(i).Interface()})
		}
		return canonEntries(b, es)
	default:
		return fmt.Errorf("unsupported type %s", rv.Type())
	}
	return nil
}

func canonEntries(b *strings.Builder, es []Entry[any]) error {
	// Python sorts str keys by code point; Go string order is byte order, which for valid UTF-8
	// is the same as code point order.
	sorted := append([]Entry[any](nil), es...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	b.WriteByte('{')
	for i, e := range sorted {
		if i > 0 {
			b.WriteString(", ")
		}
		canonString(b, e.Key)
		b.WriteString(": ")
		if err := canon(b, reflect.ValueOf(e.Value)); err != nil {
			return fmt.Errorf("%s: %w", e.Key, err)
		}
	}
	b.WriteByte('}')
	return nil
}

func canonValue(b *strings.Builder, v Value) error {
	switch v.Kind {
	case Null:
		b.WriteString("null")
	case Bool:
		b.WriteString(map[bool]string{true: "true", false: "false"}[v.Bool])
	case Number:
		if v.IsInt() {
			// Python keeps arbitrary-precision ints; normalise "-0" and leading forms via big parse.
			if i, err := strconv.ParseInt(v.Lit, 10, 64); err == nil {
				b.WriteString(strconv.FormatInt(i, 10))
			} else {
				b.WriteString(v.Lit)
			}
		} else {
			b.WriteString(PyFloat(v.Num))
		}
	case String:
		canonString(b, v.Str)
	case Array:
		b.WriteByte('[')
		for i, e := range v.Arr {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := canonValue(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case Object:
		return canonEntries(b, v.Obj.canonEntries())
	}
	return nil
}

// canonString writes s as Python's json.dumps with ensure_ascii=True does.
func canonString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x7f && r < 0x10000):
				if r == 0x7f {
					b.WriteRune(r)
					continue
				}
				fmt.Fprintf(b, `\u%04x`, r)
			case r >= 0x10000:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
