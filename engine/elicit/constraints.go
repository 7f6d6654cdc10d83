package elicit

import (
	"strings"

	"github.com/olumi/isl/engine/jsonv"
)

// Direction of a variable: +1 more is better, −1 less is better.
const (
	More = 1
	Less = -1
)

var directionWords = map[string]int{
	"minimize": Less, "minimise": Less, "min": Less, "lower": Less, "less": Less, "decrease": Less,
	"reduce": Less, "lower_is_better": Less, "less_is_better": Less, "smaller_is_better": Less,
	"maximize": More, "maximise": More, "max": More, "higher": More, "more": More, "increase": More,
	"higher_is_better": More, "more_is_better": More, "larger_is_better": More,
}

func directionWord(s string) (int, bool) {
	d, ok := directionWords[strings.ToLower(strings.TrimSpace(s))]
	return d, ok
}

// parseDirections returns the directions that constraints state explicitly for the given variables
// (see the package comment for the accepted forms). Unmentioned variables are absent from the map.
func parseDirections(c *jsonv.Value, vars []string) (map[string]int, error) {
	out := map[string]int{}
	if c == nil || c.Kind != jsonv.Object {
		return out, nil
	}
	known := map[string]bool{}
	for _, v := range vars {
		known[v] = true
	}
	set := func(v string, d int) error {
		if !known[v] {
			return nil // constraints may talk about other things; only our variables matter
		}
		if old, ok := out[v]; ok && old != d {
			return inputErr("context.constraints give conflicting directions for variable '%s'", v)
		}
		out[v] = d
		return nil
	}
	for _, e := range c.Obj {
		key, val := e.Key, e.Value
		if d, ok := directionWord(key); ok {
			// {"minimize": ["churn"]} or {"minimize": "churn"}
			switch val.Kind {
			case jsonv.String:
				if err := set(val.Str, d); err != nil {
					return nil, err
				}
			case jsonv.Array:
				for _, x := range val.Arr {
					if x.Kind == jsonv.String {
						if err := set(x.Str, d); err != nil {
							return nil, err
						}
					}
				}
			}
			continue
		}
		lk := strings.ToLower(key)
		if (lk == "directions" || lk == "direction") && val.Kind == jsonv.Object {
			for _, m := range val.Obj {
				if m.Value.Kind != jsonv.String {
					continue
				}
				if d, ok := directionWord(m.Value.Str); ok {
					if err := set(m.Key, d); err != nil {
						return nil, err
					}
				}
			}
			continue
		}
		if val.Kind != jsonv.String {
			continue
		}
		d, ok := directionWord(val.Str)
		if !ok {
			continue
		}
		name := key
		if known[key] {
			name = key
		} else if strings.HasSuffix(key, "_direction") {
			name = strings.TrimSuffix(key, "_direction")
		}
		if err := set(name, d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseBases returns numeric baselines for the given variables: current_<v>, baseline_<v>,
// base_<v>, <v> (a number), or a member of an object under "current", "baseline" or "baselines".
// The first match in that order wins.
func parseBases(c *jsonv.Value, vars []string) map[string]float64 {
	out := map[string]float64{}
	if c == nil || c.Kind != jsonv.Object {
		return out
	}
	num := func(v jsonv.Value, ok bool) (float64, bool) {
		if ok && v.Kind == jsonv.Number && finite(v.Num) {
			return v.Num, true
		}
		return 0, false
	}
	for _, v := range vars {
		for _, k := range []string{"current_" + v, "baseline_" + v, "base_" + v, v} {
			if x, ok := num(c.Get(k)); ok {
				out[v] = x
				break
			}
		}
		if _, done := out[v]; done {
			continue
		}
		for _, k := range []string{"current", "baseline", "baselines"} {
			if obj, ok := c.Get(k); ok && obj.Kind == jsonv.Object {
				if x, ok := num(obj.Get(v)); ok {
					out[v] = x
					break
				}
			}
		}
	}
	return out
}
