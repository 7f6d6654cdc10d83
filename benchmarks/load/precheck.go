package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/olumi/isl/benchmarks/payloads"
)

// PrecheckError says why the target is not worth loading: the first endpoint that failed its
// single pre-check request, what happened and what to do.
type PrecheckError struct {
	Endpoint string
	Problem  string
	Advice   string
}

func (e *PrecheckError) Error() string {
	return fmt.Sprintf("pre-check %s: %s; %s", e.Endpoint, e.Problem, e.Advice)
}

// precheck sends one request per endpoint of the mix (and the elicit→update flow once). Any
// failure aborts the run before it starts.
func (r *runner) precheck(ctx context.Context) error {
	for _, op := range r.ops() {
		ss, _ := r.checkOne(ctx, op)
		for _, s := range ss {
			if s.OK {
				continue
			}
			return &PrecheckError{Endpoint: s.Endpoint, Problem: s.Err, Advice: advice(r.cfg, s)}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("pre-check interrupted: %w", ctx.Err())
		}
	}
	return nil
}

// checkOne is one step of the mix outside the counters.
func (r *runner) checkOne(ctx context.Context, op payloads.Endpoint) ([]Sample, error) {
	if op != payloads.Elicit {
		s, _ := r.send(ctx, op, r.body(op, 0), time.Time{})
		if s == nil {
			return nil, ctx.Err()
		}
		return []Sample{*s}, nil
	}
	user := "load-precheck-" + r.runID
	s, resp := r.send(ctx, payloads.Elicit, payloads.ElicitBody(user), time.Time{})
	if s == nil || !s.OK {
		return samples(s), ctx.Err()
	}
	qid, err := payloads.FirstQueryID(resp)
	if err != nil {
		s.OK, s.Err = false, err.Error()
		return []Sample{*s}, nil
	}
	u, _ := r.send(ctx, payloads.Update, payloads.UpdateBody(user, qid, "A"), time.Time{})
	return append([]Sample{*s}, samples(u)...), ctx.Err()
}

func samples(s *Sample) []Sample {
	if s == nil {
		return nil
	}
	return []Sample{*s}
}

// advice turns a failed pre-check request into what the operator should do.
func advice(cfg Config, s Sample) string {
	msg := s.Err
	switch {
	case s.Status == http.StatusUnauthorized:
		if cfg.APIKey == "" {
			return "the deployment requires an API key: pass --api-key (or set ISL_API_KEY)"
		}
		return "the API key was rejected: pass one of the deployment's API_KEYS with --api-key (or ISL_API_KEY)"
	case s.Status == http.StatusForbidden:
		return "access is forbidden (403): check the API key and, through nginx, the allowed client networks"
	case s.Status == http.StatusTooManyRequests:
		return "the deployment rate-limits this client: raise RATE_LIMIT_PER_MINUTE for the test or use another key"
	case s.Status == http.StatusNotFound:
		return "no such route: check --host (the base URL, without /api/v1)"
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return "the target speaks plain HTTP: use an http:// --host"
	case isTLSError(msg):
		return "the server's TLS certificate is not trusted: pass --cacert FILE with its CA (or self-signed certificate), or --insecure for a throwaway test host"
	case strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"):
		return "nothing answers at --host: check the address and that the deployment is up"
	case s.Status >= 500:
		return "the deployment is failing: check its logs (the trace_id is in the body) before load-testing"
	}
	return "fix the target or the request before load-testing it"
}

func isTLSError(msg string) bool {
	for _, k := range []string{"x509:", "tls:", "certificate", "first record does not look like a TLS handshake"} {
		if strings.Contains(msg, k) {
			return true
		}
	}
	return false
}

// tlsConfig trusts the system roots plus caFile's certificates; insecure skips verification.
func tlsConfig(insecure bool, caFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if insecure {
		c.InsecureSkipVerify = true //nolint:gosec // opt-in for self-signed pilot-local certs
	}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("cacert: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("cacert " + caFile + ": no PEM certificate in the file")
	}
	c.RootCAs = pool
	return c, nil
}
