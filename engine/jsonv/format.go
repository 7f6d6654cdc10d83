package jsonv

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// F0, docs/api.md#causal-validate, docs/api.md#counterfactual-algorithm format with fixed decimals, correctly rounded from the exact binary value (ties to even).
func F0(x float64) string { return strconv.FormatFloat(x, 'f', 0, 64) }
func F1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }
func F2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

// Pct1 is f1(x*100)+"%".
func Pct1(x float64) string { return F1(x*100) + "%" }

// Grp0 is F0 with "," thousands separators.
func Grp0(x float64) string {
	s := F0(x)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Round is Python's round(x, n): the n-decimal correctly rounded text parsed back.
func Round(x float64, n int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', n, 64), 64)
	return f
}

// PyFloat is Python's float repr: shortest round-trip digits, always with "." or an exponent;
// exponent form iff the decimal exponent is < -4 or >= 16.
func PyFloat(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(x, 'e', -1, 64) // e.g. -1.2345e+06
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := fmt.Sprintf("%+03d", exp)
		return sign + m + "e" + es
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}

// PyRepr is Python's repr of a JSON-like value: {'mean': 50.0}, ['C'], True, None.
// Map and Value objects keep their order (Python dicts keep insertion order); plain Go maps are
// written with sorted keys so the text is deterministic.
func PyRepr(v any) string {
	var b strings.Builder
	pyRepr(&b, v)
	return b.String()
}

// PyStr is PyRepr except that a bare string is written as is.
func PyStr(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case Value:
		if s.Kind == String {
			return s.Str
		}
	}
	return PyRepr(v)
}

func pyRepr(b *strings.Builder, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if t {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case string:
		b.WriteString(pyQuote(t))
	case float64:
		b.WriteString(PyFloat(t))
	case float32:
		b.WriteString(PyFloat(float64(t)))
	case int:
		b.WriteString(strconv.Itoa(t))
	case int64:
		b.WriteString(strconv.FormatInt(t, 10))
	case Value:
		switch t.Kind {
		case Number:
			if t.IsInt() {
				b.WriteString(t.Lit)
			} else {
				b.WriteString(PyFloat(t.Num))
			}
		case Array:
			items := make([]any, len(t.Arr))
			for i, e := range t.Arr {
				items[i] = e
			}
			pyRepr(b, items)
		case Object:
			pyRepr(b, t.Obj)
		default:
			pyRepr(b, t.Interface())
		}
	case []string:
		items := make([]any, len(t))
		for i, e := range t {
			items[i] = e
		}
		pyRepr(b, items)
	case []float64:
		items := make([]any, len(t))
		for i, e := range t {
			items[i] = e
		}
		pyRepr(b, items)
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			pyRepr(b, e)
		}
		b.WriteByte(']')
	case canonObject:
		b.WriteByte('{')
		for i, e := range t.canonEntries() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyQuote(e.Key))
			b.WriteString(": ")
			pyRepr(b, e.Value)
		}
		b.WriteByte('}')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := make(Map[any], len(keys))
		for i, k := range keys {
			m[i] = Entry[any]{k, t[k]}
		}
		pyRepr(b, m)
	case map[string]float64:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := make(Map[any], len(keys))
		for i, k := range keys {
			m[i] = Entry[any]{k, t[k]}
		}
		pyRepr(b, m)
	default:
		fmt.Fprintf(b, "%v", t)
	}
}

// pyQuote mimics Python's str repr: single quotes unless the text has ' and no ".
func pyQuote(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}
