package http

import (
	"net/http"
	"reflect"
	"testing"
)

// docs/api.md#causal-validate-examples docs/api.md#team-align at HTTP level (engine golden: engine/align/testdata/w9.json).
func TestTeamAlignW9(t *testing.T) {
	s := newTestServer(t, nil, nil)
	d := loadDoc(t)
	body := `{"perspectives":[{"role":"PM","priorities":["speed","revenue"],"constraints":["budget"]},
		{"role":"Eng","priorities":["quality","speed"],"constraints":["budget","capacity"],"preferred_options":null}],
		"options":[{"id":"a","name":"A","attributes":{"speed":"fast","quality":"low"}},
		{"id":"b","name":"B","attributes":{"speed":"slow","quality":"high"}}]}`
	r := s.post(teamAlignPath, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	d.validate(t, http.MethodPost, teamAlignPath, r)
	if got := keysOf(r.Body); !reflect.DeepEqual(got, []string{"common_ground", "aligned_options", "conflicts", "recommendation", "explanation"}) {
		t.Fatalf("field order %v", got)
	}
	if num(t, r, "common_ground", "agreement_level") != 40 || r.str("recommendation", "top_option") != "a" ||
		r.str("recommendation", "confidence") != "medium" ||
		r.str("recommendation", "rationale") != "This option achieves 75% overall satisfaction, satisfying 1 of the team roles. However, 1 conflict(s) should be addressed." {
		t.Fatalf("%s", r.Raw)
	}
	conf := field(r, "conflicts").Arr
	if len(conf) != 1 || plain(t, conf[0]).(map[string]any)["about"] != "Speed vs Quality tradeoff" {
		t.Fatalf("conflicts %s", r.Raw)
	}
	again := s.post(teamAlignPath, body)
	if string(again.Raw) != string(r.Raw) {
		t.Fatal("non-deterministic")
	}
}

func plainMap(t *testing.T, r response) map[string]any { return plain(t, r.Body).(map[string]any) }

func TestTeamAlignErrors(t *testing.T) {
	s := newTestServer(t, nil, nil)
	p := `{"role":"A","priorities":[],"constraints":[]}`
	o := `{"id":"x","name":"X","attributes":{}}`
	for body, msg := range map[string]string{
		`{"perspectives":[],"options":[` + o + `]}`:                    "At least one perspective is required",
		`{"perspectives":[` + p + `],"options":[]}`:                    "At least one option is required",
		`{"perspectives":[` + p + `,` + p + `],"options":[` + o + `]}`: "Duplicate perspective role: 'A'",
		`{"perspectives":[` + p + `],"options":[` + o + `,` + o + `]}`: "Duplicate option id: 'x'",
	} {
		r := s.post(teamAlignPath, body)
		r.envelope(t, http.StatusBadRequest, "validation_error")
		if r.str("message") != msg {
			t.Errorf("%s: %q", body, r.str("message"))
		}
	}
	check422(t, s, teamAlignPath, `{"perspectives":[1,{"role":2,"priorities":"x","preferred_options":[3]}],"options":[{"id":"x","attributes":[]}]}`,
		`model_attributes_type ["body","perspectives",0]`,
		`string_type ["body","perspectives",1,"role"]`, `list_type ["body","perspectives",1,"priorities"]`,
		`missing ["body","perspectives",1,"constraints"]`, `string_type ["body","perspectives",1,"preferred_options",0]`,
		`missing ["body","options",0,"name"]`, `model_attributes_type ["body","options",0,"attributes"]`)
}
