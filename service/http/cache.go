package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/olumi/isl/service/isl"
)

// The response cache (ENABLE_CACHE) answers a repeated request to a deterministic endpoint with
// the complete response computed the first time. Every endpoint it wraps is a pure function of its
// request body and of the configuration (seeds come from the request itself), so the cached bytes
// are exactly what computing again would produce.
//
// Key: SHA-256 of the version, the configuration that shapes answers, the route pattern, the
// Content-Type and the body with insignificant whitespace removed (json.Compact). The body is not
// re-ordered or otherwise normalised: member order is significant here (it fixes the RNG draw
// order and the order of outputs), so two bodies that differ only in order must not share an
// answer, even though their seeds may agree. Only 200 answers are kept; a body that is not valid
// JSON, or larger than the cache takes, goes straight to the handler.

// cacheTimeout bounds a cache read or write: a slow shared cache must not slow requests down
// more than computing would.
const cacheTimeout = 50 * time.Millisecond

// responseCache wraps the cached routes of one server.
type responseCache struct {
	store   isl.ResponseCache
	ttl     time.Duration
	version string // configuration fingerprint mixed into every key
	s       *server
}

func newResponseCache(s *server, store isl.ResponseCache) *responseCache {
	return &responseCache{store: store, ttl: s.cfg.CacheTTL, s: s,
		version: isl.Version + "\x00samples=" + strconv.Itoa(s.cfg.MaxMonteCarlo)}
}

// key is the cache key of a request body, or false when the body is not JSON.
func (c *responseCache) key(route, contentType string, body []byte) (string, bool) {
	var compact bytes.Buffer
	compact.Grow(len(body))
	if json.Compact(&compact, body) != nil {
		return "", false
	}
	h := sha256.New()
	for _, part := range []string{c.version, route, contentType} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(compact.Bytes())
	return hex.EncodeToString(h.Sum(nil)), true
}

// wrap serves route's hits from the cache and stores its 200 answers.
func (c *responseCache) wrap(route string) func(http.Handler) http.Handler {
	hits := c.s.metrics.ResponseCacheHits.WithLabelValues(route)
	misses := c.s.metrics.ResponseCacheMisses.WithLabelValues(route)
	errs := c.s.metrics.ResponseCacheErrors
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, readErr := io.ReadAll(r.Body)
			// The handler reads the same bytes (and the same error: an oversize body stays a 413).
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{readErr}))
			key, ok := c.key(route, r.Header.Get("Content-Type"), body)
			if readErr != nil || !ok {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), cacheTimeout)
			cached, found, err := c.store.GetResponse(ctx, key)
			cancel()
			if err != nil {
				errs.WithLabelValues("get").Inc()
			}
			if found {
				hits.Inc()
				w.Header()["Content-Type"] = jsonContentType
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(cached)
				return
			}
			misses.Inc()
			cw := &captureWriter{ResponseWriter: w}
			next.ServeHTTP(cw, r)
			if cw.status == http.StatusOK && !cw.overflow {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), cacheTimeout)
				if err := c.store.PutResponse(ctx, key, cw.buf.Bytes(), c.ttl); err != nil {
					errs.WithLabelValues("put").Inc()
				}
				cancel()
			}
		})
	}
}

// errReader returns err (io.EOF when nil) once the body's bytes are consumed.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err == nil {
		return 0, io.EOF
	}
	return 0, e.err
}

// maxCaptured bounds the bytes a captureWriter copies; larger answers are not cached.
const maxCaptured = 1 << 20

// captureWriter passes the response through and keeps a copy of a 200 body for the cache.
type captureWriter struct {
	http.ResponseWriter
	status   int
	buf      bytes.Buffer
	overflow bool
}

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.status == http.StatusOK && !c.overflow {
		if c.buf.Len()+len(b) > maxCaptured {
			c.overflow = true
			c.buf = bytes.Buffer{}
		} else {
			c.buf.Write(b)
		}
	}
	return c.ResponseWriter.Write(b)
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
