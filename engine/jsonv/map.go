package jsonv

import (
	"bytes"
	"encoding/json"
)

// Entry is one member of an ordered object.
type Entry[V any] struct {
	Key   string
	Value V
}

// Map is a JSON object whose members keep their order. Lookups and Set are linear scans: the
// engines' maps are small (capped at a few hundred members). Parse builds objects of any size with
// an index, so decoding stays linear in the body.
type Map[V any] []Entry[V]

// Get returns the value stored under k.
func (m Map[V]) Get(k string) (V, bool) {
	for _, e := range m {
		if e.Key == k {
			return e.Value, true
		}
	}
	var zero V
	return zero, false
}

// Has reports whether k is a member.
func (m Map[V]) Has(k string) bool {
	_, ok := m.Get(k)
	return ok
}

// Keys returns the member names in order.
func (m Map[V]) Keys() []string {
	ks := make([]string, len(m))
	for i, e := range m {
		ks[i] = e.Key
	}
	return ks
}

// Set replaces the value of an existing key in place (keeping its first position) or appends.
func (m *Map[V]) Set(k string, v V) {
	for i := range *m {
		if (*m)[i].Key == k {
			(*m)[i].Value = v
			return
		}
	}
	*m = append(*m, Entry[V]{k, v})
}

// MarshalJSON writes the members in order; a nil map is written as {}.
func (m Map[V]) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(e.Key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.Value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object keeping member order (used when state is read back from a store).
func (m *Map[V]) UnmarshalJSON(data []byte) error {
	val, err := Parse(data)
	if err != nil {
		return err
	}
	if val.Kind == Null {
		*m = nil
		return nil
	}
	if val.Kind != Object {
		return &SyntaxError{Msg: "expected a JSON object"}
	}
	out := make(Map[V], 0, len(val.Obj))
	for _, e := range val.Obj {
		raw, err := e.Value.MarshalJSON()
		if err != nil {
			return err
		}
		var v V
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		out = append(out, Entry[V]{e.Key, v})
	}
	*m = out
	return nil
}

// canonEntries lets Canonical walk any Map[V] without reflection on generic types.
func (m Map[V]) canonEntries() []Entry[any] {
	out := make([]Entry[any], len(m))
	for i, e := range m {
		out[i] = Entry[any]{e.Key, e.Value}
	}
	return out
}

type canonObject interface{ canonEntries() []Entry[any] }
