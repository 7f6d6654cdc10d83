package align

import "github.com/olumi/isl/engine/jsonv"

// valueText is the text an attribute value is matched against: Python str(value)
// (bare strings, 10, 10.5, True, ['a', 'b'], {'k': 'v'}), as the original did.
func valueText(v jsonv.Value) string { return jsonv.PyStr(v) }

// valueString returns the value when it is a JSON string.
func valueString(v jsonv.Value) (string, bool) {
	if v.Kind == jsonv.String {
		return v.Str, true
	}
	return "", false
}
