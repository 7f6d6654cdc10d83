package http

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/olumi/isl/service/isl"
)

// routeMethods are the methods a path is probed with for the 405 Allow header and the
// trailing-slash redirect.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// routes is the whole API at a glance.
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.middleware(r)...)
	// HEAD answers like GET on every GET route (uptime checkers probe /health with it; net/http drops
	// the body), without documenting a second operation per route.
	r.Use(middleware.GetHead)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &isl.Error{Code: isl.ENotFound, Message: "Not Found"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		var allow []string
		for _, m := range routeMethods {
			if r.Match(chi.NewRouteContext(), m, req.URL.Path) {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.fail(w, req, &isl.Error{Code: "method_not_allowed", Message: "Method Not Allowed"})
	})

	r.Get("/health", s.handleHealth())
	if s.cfg.EnableMonitoring {
		r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
	}
	r.Get("/openapi.json", s.handleOpenAPI())
	r.Get("/docs", s.handleDocs())
	r.Get("/redoc", s.handleRedoc())

	r.Route(s.cfg.APIPrefix, func(r chi.Router) {
		r.Use(limitBody,
			requireAPIKey(s.cfg.APIKeys, authFailureLimit(s.cfg.RateLimitPerMinute, s.proxies, s.rateCounter("authfail")), s.log),
			rateLimit(s.cfg.RateLimitPerMinute, len(s.cfg.APIKeys) > 0, s.proxies, s.rateCounter("requests"), s.log),
			s.decodeBudget)
		r.With(s.cached("/causal/validate")).Post("/causal/validate", s.handleCausalValidate())
		r.With(s.cached("/causal/counterfactual")).Post("/causal/counterfactual", s.handleCounterfactual())
		r.Post("/preferences/elicit", s.handleElicit())
		r.Post("/preferences/update", s.handleUpdate())
		r.With(s.cached("/teaching/teach")).Post("/teaching/teach", s.handleTeach())
		r.Delete("/users/{user_id}", s.handleDeleteUser())
		r.With(s.cached("/validation/validate")).Post("/validation/validate", s.handleModelValidate())
		r.With(s.cached("/team/align")).Post("/team/align", s.handleTeamAlign())
		r.With(s.cached("/analysis/sensitivity")).Post("/analysis/sensitivity", s.handleSensitivity())
	})
	return r
}

// cached is the response cache for a deterministic route (below the API prefix), or nothing when
// ENABLE_CACHE is off. Preference endpoints read and write per-user state and are never cached.
func (s *server) cached(path string) func(http.Handler) http.Handler {
	if s.cache == nil {
		return func(next http.Handler) http.Handler { return next }
	}
	return s.cache.wrap(s.cfg.APIPrefix + path)
}

// middleware is the chain every request passes. The recoverer sits inside observe so that a
// panic's 500 is still logged and counted like any other response.
func (s *server) middleware(mux chi.Routes) []func(http.Handler) http.Handler {
	return []func(http.Handler) http.Handler{observe(s.log, s.metrics), recoverer(s.log), securityHeaders, trailingSlash(mux)}
}

// trailingSlash answers /path/ with a 307 to /path (docs/api.md#routes), keeping the method and body, when /path
// is a route (as Starlette's redirect_slashes does); anything else falls through to the 404. Only
// routes are redirect targets, so "//evil.example/" can never become a protocol-relative
// Location header (open redirect).
func trailingSlash(mux chi.Routes) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
				target := "/" + strings.TrimLeft(strings.TrimRight(p, "/"), "/")
				if isRoute(mux, target) {
					u := *r.URL
					u.Path, u.RawPath = target, ""
					http.Redirect(w, r, u.RequestURI(), http.StatusTemporaryRedirect)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// isRoute reports whether path matches a route for any method.
func isRoute(mux chi.Routes, path string) bool {
	for _, m := range routeMethods {
		if mux.Match(chi.NewRouteContext(), m, path) {
			return true
		}
	}
	return false
}
