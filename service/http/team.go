package http

import (
	"context"
	"net/http"
	"time"

	"github.com/olumi/isl/engine/align"
	"github.com/olumi/isl/engine/jsonv"
)

// handleTeamAlign is POST /team/align (docs/api.md#team-align with docs/api.md#limits, whole-word matching).
func (s *server) handleTeamAlign() http.HandlerFunc {
	duration := s.computationDuration("/team/align")
	return func(w http.ResponseWriter, r *http.Request) {
		d, body, err := Decode(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		req := decodeTeamAlign(body)
		if err := d.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		var res *align.Response
		start := time.Now()
		err = s.compute(r.Context(), func(context.Context) (err error) {
			res, err = align.Align(req)
			return err
		})
		duration().Observe(time.Since(start).Seconds())
		if err != nil {
			s.fail(w, r, engineErr(err, "perform team alignment"))
			return
		}
		ok(w, res)
	}
}

func decodeTeamAlign(body Obj) align.Request {
	req := align.Request{Perspectives: []align.Perspective{}, Options: []align.Option{}}
	items, _ := body.List("perspectives")
	for i, it := range items {
		p := body.Item("perspectives", i, it)
		persp := align.Perspective{Role: p.Str("role"), Priorities: p.StrList("priorities"), Constraints: p.StrList("constraints")}
		if pref, present := p.OptStrList("preferred_options"); present {
			persp.PreferredOptions = pref
		}
		req.Perspectives = append(req.Perspectives, persp)
	}
	items, _ = body.List("options")
	for i, it := range items {
		o := body.Item("options", i, it)
		opt := align.Option{ID: o.Str("id"), Name: o.Str("name")}
		if attrs := o.Object("attributes"); attrs.OK() {
			opt.Attributes = attrs.Value().Obj
		}
		if opt.Attributes == nil {
			opt.Attributes = jsonv.Map[jsonv.Value]{}
		}
		req.Options = append(req.Options, opt)
	}
	return req
}
