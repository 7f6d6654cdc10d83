package http

import (
	"strings"
	"testing"
)

func TestTeachHTTP(t *testing.T) {
	s := newTestServer(t, nil, nil)
	beliefs := `{"value_weights":{"revenue":{"type":"normal","parameters":{"mean":0.7,"std":0.1}},"churn":{"type":"beta","parameters":{"alpha":2,"beta":3}},` +
		`"brand":{"type":"normal","parameters":{"mean":0.3,"std":0.1}}},"risk_tolerance":{"type":"beta","parameters":{"alpha":2,"beta":2}},` +
		`"time_horizon":{"type":"normal","parameters":{"mean":12,"std":6}},"uncertainty_estimates":{"revenue_weight":0.5}}`
	r := s.post(teachPath, `{"user_id":"u","current_beliefs":`+beliefs+`,"target_concept":"trade_offs","context":{"domain":"pricing","variables":["revenue","churn","brand"]},"max_examples":3}`)
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	if got := prefKeys(r.Body); got != "examples,explanation,learning_objectives,expected_learning_time" {
		t.Errorf("fields %s", got)
	}
	ex := prefGet(r.Body, "examples").Arr
	if len(ex) == 0 || len(ex) > 3 || prefKeys(ex[0]) != "scenario,key_insight,why_this_example,information_value" {
		t.Fatalf("examples %s", r.Raw)
	}
	if n := len(prefGet(r.Body, "learning_objectives").Arr); n != 2+len(ex) {
		t.Errorf("%d objectives for %d examples", n, len(ex))
	}
	want := map[int]string{1: "5 minutes", 2: "8 minutes", 3: "10-20 minutes"}[len(ex)]
	if r.str("expected_learning_time") != want {
		t.Errorf("time %q for %d examples", r.str("expected_learning_time"), len(ex))
	}
	one := s.post(teachPath, `{"user_id":"u","current_beliefs":`+beliefs+`,"target_concept":"confounding","context":{"domain":"d","variables":["revenue"]}}`)
	if !strings.Contains(string(one.Raw), `"examples":[]`) || one.str("expected_learning_time") != "2 minutes" {
		t.Errorf("want examples [] and 2 minutes: %s", one.Raw)
	}
}
