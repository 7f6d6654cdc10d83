// Package metrics declares every Prometheus series of docs/api.md#state, on a registry of its own so that tests can
// start many servers in one process. All of them are fed (docs/api.md#metrics); none carries a user id (docs/api.md#limits).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the service's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	RequestsTotal   *prometheus.CounterVec   // method, endpoint (route pattern), status
	RequestDuration *prometheus.HistogramVec // method, endpoint
	ErrorsTotal     *prometheus.CounterVec   // method, endpoint, error_code (HTTP status)
	ActiveRequests  prometheus.Gauge
	ServiceUp       prometheus.Gauge
	RedisConnected  prometheus.Gauge     // only exposed when the store is Redis (see UseStore)
	StoreBackend    *prometheus.GaugeVec // backend: 1 for the store in use (redis | memory)
	// RedisMemoryUsed / RedisMemoryMax are Redis' used_memory and maxmemory (the store-full alert
	// and the new-user admission work on their ratio).
	RedisMemoryUsed prometheus.Gauge
	RedisMemoryMax  prometheus.Gauge

	PreferenceQueriesGenerated *prometheus.CounterVec // strategy
	BeliefUpdates              prometheus.Counter     // docs/api.md#limits: the original's user_id_hash label is dropped
	CausalValidations          *prometheus.CounterVec // status
	CounterfactualAnalyses     prometheus.Counter
	TeachingExamplesGenerated  *prometheus.CounterVec // concept (closed set)
	ModelValidations           *prometheus.CounterVec // quality_level
	RedisOperations            *prometheus.CounterVec // operation, status
	CacheHits                  prometheus.Counter     // stored-belief reads that found state
	CacheMisses                prometheus.Counter
	ResponseCacheHits          *prometheus.CounterVec // endpoint: answered from the response cache (ENABLE_CACHE)
	ResponseCacheMisses        *prometheus.CounterVec // endpoint: computed (and stored when 200)
	ResponseCacheErrors        *prometheus.CounterVec // operation: get | put failed (treated as a miss)

	ActivaComputation         prometheus.Histogram // preference elicitation compute time (the original's name)
	BayesianUpdateDuration    prometheus.Histogram
	CounterfactualComputation prometheus.Histogram
	ComputationDuration       *prometheus.HistogramVec // endpoint: every engine computation
	ComputationsRejected      *prometheus.CounterVec   // reason: timeout | overload
}

// New registers all collectors, plus the Go runtime and process collectors, on a fresh registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{Registry: r}
	m.RequestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_http_requests_total", Help: "HTTP requests by method, route pattern and status."}, []string{"method", "endpoint", "status"})
	m.RequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "isl_http_request_duration_seconds", Help: "HTTP request latency by method and route pattern.", Buckets: []float64{.01, .05, .1, .25, .5, 1, 1.5, 2, 3, 5, 10}}, []string{"method", "endpoint"})
	m.ErrorsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_http_errors_total", Help: "HTTP responses with status >= 400; error_code is the status."}, []string{"method", "endpoint", "error_code"})
	m.ActiveRequests = prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_active_requests", Help: "Requests in flight."})
	m.ServiceUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_service_up", Help: "1 while the service is serving."})
	m.RedisConnected = prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_redis_connected", Help: "1 while the configured Redis answers, 0 while it is unreachable (absent with the in-memory store)."})
	m.StoreBackend = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "isl_store_backend", Help: "1 for the preference state store in use: redis or memory (embedded, per process)."}, []string{"backend"})
	m.PreferenceQueriesGenerated = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_preference_queries_generated_total", Help: "Preference queries issued, by strategy."}, []string{"strategy"})
	m.BeliefUpdates = prometheus.NewCounter(prometheus.CounterOpts{Name: "isl_belief_updates_total", Help: "Bayesian belief updates applied."})
	m.CausalValidations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_causal_validations_total", Help: "Causal validations by identification status."}, []string{"status"})
	m.CounterfactualAnalyses = prometheus.NewCounter(prometheus.CounterOpts{Name: "isl_counterfactual_analyses_total", Help: "Counterfactual analyses completed."})
	m.TeachingExamplesGenerated = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_teaching_examples_generated_total", Help: "Teaching examples returned, by concept."}, []string{"concept"})
	m.ModelValidations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_model_validations_total", Help: "Model validations by quality level."}, []string{"quality_level"})
	m.RedisMemoryUsed = prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_redis_memory_used_bytes", Help: "Redis used_memory as last read by this replica's health loop."})
	m.RedisMemoryMax = prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_redis_memory_max_bytes", Help: "Redis maxmemory as last read by this replica's health loop (0 = unlimited)."})
	m.RedisOperations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_redis_operations_total", Help: "Store operations by operation and status (ok|not_found|error)."}, []string{"operation", "status"})
	m.CacheHits = prometheus.NewCounter(prometheus.CounterOpts{Name: "isl_cache_hits_total", Help: "Belief reads that found stored state."})
	m.CacheMisses = prometheus.NewCounter(prometheus.CounterOpts{Name: "isl_cache_misses_total", Help: "Belief reads that found no stored state."})
	m.ResponseCacheHits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_response_cache_hits_total", Help: "Requests answered from the response cache, by route pattern."}, []string{"endpoint"})
	m.ResponseCacheMisses = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_response_cache_misses_total", Help: "Cacheable requests that were computed, by route pattern."}, []string{"endpoint"})
	m.ResponseCacheErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_response_cache_errors_total", Help: "Response cache reads or writes that failed (answered by computing), by operation (get|put)."}, []string{"operation"})
	m.ActivaComputation = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "isl_activa_computation_duration_seconds", Help: "Preference elicitation (query selection) compute time.", Buckets: []float64{.01, .05, .1, .5, 1, 2, 5}})
	m.BayesianUpdateDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "isl_bayesian_update_duration_seconds", Help: "Bayesian belief update compute time.", Buckets: []float64{.001, .01, .05, .1, .5, 1}})
	m.CounterfactualComputation = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "isl_counterfactual_computation_duration_seconds", Help: "Counterfactual Monte Carlo compute time.", Buckets: []float64{.1, .5, 1, 2, 5, 10}})
	m.ComputationDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "isl_computation_duration_seconds", Help: "Engine compute time by route pattern.", Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 2, 5, 10}}, []string{"endpoint"})
	m.ComputationsRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "isl_computations_rejected_total", Help: "Computations refused or abandoned, by reason (timeout|overload)."}, []string{"reason"})
	for _, c := range []prometheus.Collector{m.RequestsTotal, m.RequestDuration, m.ErrorsTotal, m.ActiveRequests, m.ServiceUp, m.RedisConnected, m.StoreBackend, m.RedisMemoryUsed, m.RedisMemoryMax, m.PreferenceQueriesGenerated, m.BeliefUpdates, m.CausalValidations, m.CounterfactualAnalyses, m.TeachingExamplesGenerated, m.ModelValidations, m.RedisOperations, m.CacheHits, m.CacheMisses, m.ResponseCacheHits, m.ResponseCacheMisses, m.ResponseCacheErrors, m.ActivaComputation, m.BayesianUpdateDuration, m.CounterfactualComputation, m.ComputationDuration, m.ComputationsRejected} {
		f(c)
	}
	f(newBuildInfo())
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f(NewMemoryLimitCollector())
	return m
}

// UseStore records which store backs the preference state. With the embedded in-memory store
// there is no Redis to be connected to, so isl_redis_connected is withdrawn rather than reporting
// a connection that does not exist (or a 0 that would fire the Redis alert).
func (m *Metrics) UseStore(backend string) {
	m.StoreBackend.WithLabelValues(backend).Set(1)
	if backend != "redis" {
		m.Registry.Unregister(m.RedisConnected)
	}
}
