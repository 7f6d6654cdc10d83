package jsonv

import (
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// parseFast is a direct scanner for the common case: well-formed JSON with valid UTF-8. It builds
// exactly the Value that the encoding/json-based parser builds (same literals, same member order
// and duplicate-key rule, same empty-but-non-nil containers) without its per-token interface
// values and reflection, which made decoding a fifth of a small request's cost. Anything it does
// not handle identically — malformed input, nesting past MaxDepth, numbers out of range, invalid
// UTF-8 or lone surrogates (which encoding/json replaces) — makes it give up (ok=false), and
// Parse runs the full parser, which also produces the error positions and messages.
func parseFast(data []byte) (v Value, ok bool) {
	sc := scratchPool.Get().(*scratch)
	s := scanner{b: data, vals: sc.vals, ents: sc.ents}
	defer func() { sc.put(s.vals, s.ents) }()
	s.ws()
	v, ok = s.value(0)
	if !ok {
		return Value{}, false
	}
	s.ws()
	return v, s.i == len(s.b)
}

// scratch is a scanner's pair of scratch stacks, kept between parses.
type scratch struct {
	vals []Value
	ents []Entry[Value]
}

// scratchKeep is the largest stack returned to the pool: a huge body's stacks are left to the
// collector rather than pinned.
const scratchKeep = 1024

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// put pools the stacks a scan ended with, emptied: containers clear what they pop, so only what
// a failed scan left pushed needs clearing (no stale pointers pinned).
func (sc *scratch) put(vals []Value, ents []Entry[Value]) {
	clear(vals)
	clear(ents)
	sc.vals, sc.ents = vals[:0], ents[:0]
	if cap(vals) > scratchKeep {
		sc.vals = nil
	}
	if cap(ents) > scratchKeep {
		sc.ents = nil
	}
	scratchPool.Put(sc)
}

type scanner struct {
	b []byte
	i int
	// vals and ents are scratch stacks: an array's elements (an object's members) are collected
	// on top while it is scanned, then copied once into a slice of exactly their number, instead
	// of growing each container by appends (which allocated log2(n)+1 times per container and
	// was most of the bytes a small request allocated). Nested containers push above and pop
	// before their parent continues.
	vals []Value
	ents []Entry[Value]
	// vslab and eslab hold the containers' final slices, carved one after another with exact
	// capacities (appending to one copies it out, never into its neighbour): a document's arrays
	// (objects) share a few allocations instead of one each, which with 96-byte values was most
	// of a small body's decoding time. The first slab is sized from the body's length; a
	// container that does not fit starts a slab twice as large. A window pins its slab, i.e. the
	// arrays (objects) of the same document, which live as long as the document anyway.
	vslab []Value
	eslab []Entry[Value]
}

// carve copies src into *slab and returns the copy, a window whose capacity is exactly len(src).
// When src does not fit, a new slab twice as large as the last (first elements for the first)
// takes over; the old one lives on in the windows already carved from it.
func carve[T any](slab *[]T, src []T, first int) []T {
	n := len(src)
	if cap(*slab)-len(*slab) < n {
		size := 2 * cap(*slab)
		if size == 0 {
			size = first
		}
		*slab = make([]T, 0, max(size, n))
	}
	k := len(*slab)
	*slab = append(*slab, src...)
	return (*slab)[k : k+n : k+n]
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) lit(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

func (s *scanner) value(depth int) (Value, bool) {
	if depth > MaxDepth || s.i >= len(s.b) {
		return Value{}, false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		return s.array(depth)
	case c == '"':
		str, ok := s.str()
		return Value{Kind: String, Str: str}, ok
	case c == 't':
		return Value{Kind: Bool, Bool: true}, s.lit("true")
	case c == 'f':
		return Value{Kind: Bool}, s.lit("false")
	case c == 'n':
		return Value{Kind: Null}, s.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return Value{}, false
}

// indexedAt is the member count from which objects look keys up in a map instead of scanning:
// decoding stays linear in the number of members.
const indexedAt = 32

func (s *scanner) object(depth int) (Value, bool) {
	s.i++ // {
	// index maps a key to its position among this object's members, once there are indexedAt.
	var index map[string]int
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return Value{Kind: Object, Obj: Map[Value]{}}, true
	}
	mark := len(s.ents)
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return Value{}, false
		}
		k, ok := s.str()
		if !ok {
			return Value{}, false
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return Value{}, false
		}
		s.i++
		s.ws()
		e, ok := s.value(depth + 1)
		if !ok {
			return Value{}, false
		}
		// Duplicate keys: first position, last value (Map.Set's rule).
		obj := Map[Value](s.ents[mark:])
		if index == nil && len(obj) >= indexedAt {
			index = make(map[string]int, 2*len(obj))
			for j, m := range obj {
				index[m.Key] = j
			}
		}
		j, dup := -1, false
		if index != nil {
			j, dup = index[k]
		} else {
			for i := range obj {
				if obj[i].Key == k {
					j, dup = i, true
					break
				}
			}
		}
		if dup {
			obj[j].Value = e
		} else {
			if index != nil {
				index[k] = len(obj)
			}
			s.ents = append(s.ents, Entry[Value]{k, e})
		}
		s.ws()
		if s.i >= len(s.b) {
			return Value{}, false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			obj := Map[Value](carve(&s.eslab, s.ents[mark:], min(max(len(s.b)/16, 4), 512)))
			clear(s.ents[mark:])
			s.ents = s.ents[:mark]
			return Value{Kind: Object, Obj: obj}, true
		default:
			return Value{}, false
		}
	}
}

func (s *scanner) array(depth int) (Value, bool) {
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return Value{Kind: Array, Arr: []Value{}}, true
	}
	mark := len(s.vals)
	for {
		s.ws()
		e, ok := s.value(depth + 1)
		if !ok {
			return Value{}, false
		}
		s.vals = append(s.vals, e)
		s.ws()
		if s.i >= len(s.b) {
			return Value{}, false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			arr := carve(&s.vslab, s.vals[mark:], min(max(len(s.b)/8, 8), 1024))
			clear(s.vals[mark:])
			s.vals = s.vals[:mark]
			return Value{Kind: Array, Arr: arr}, true
		default:
			return Value{}, false
		}
	}
}

// str reads a string at s.i (the opening quote).
func (s *scanner) str() (string, bool) {
	s.i++
	start := s.i
	// Fast path: no escapes, ASCII or valid UTF-8.
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !utf8.Valid(raw) {
				return "", false
			}
			return string(raw), true
		case c == '\\':
			return s.escaped(start)
		case c < 0x20:
			return "", false
		}
		s.i++
	}
	return "", false
}

// escaped finishes a string that contains escapes; s.i is at the first backslash.
func (s *scanner) escaped(start int) (string, bool) {
	out := append(make([]byte, 0, s.i-start+16), s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(out) {
				return "", false
			}
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return "", false
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				// Only a complete pair is decoded here; encoding/json replaces the rest.
				if !s.lit(`\u`) {
					return "", false
				}
				r2, ok := s.hex4()
				if !ok {
					return "", false
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", false
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (s *scanner) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}

// number reads a JSON number (RFC 8259 grammar) and keeps its literal.
func (s *scanner) number() (Value, bool) {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case digits() == 0:
		return Value{}, false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return Value{}, false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return Value{}, false
		}
	}
	lit := string(s.b[start:s.i])
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return Value{}, false
	}
	return Value{Kind: Number, Num: f, Lit: lit}, true
}
