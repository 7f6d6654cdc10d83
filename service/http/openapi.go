package http

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/olumi/isl/engine/jsonv"
)

// The OpenAPI document is hand-written (docs/api.md#routes) so that it states the contract rather than whatever
// the handlers happen to do; openapi_test.go checks the two against each other.
//
//go:embed openapi.json
var openAPIJSON []byte

// The docs pages render the document in the browser with a small self-contained script: the
// service runs without internet access, so no CDN-hosted Swagger UI / ReDoc.
var (
	//go:embed docs.js
	docsJS string
	//go:embed docs.css
	docsCSS string
)

// documentPrefix is the API prefix the embedded document is written for.
const documentPrefix = "/api/v1"

// openAPIDocument returns the document with its /api/v1 path keys moved under prefix
// (API_V1_PREFIX), re-encoded in the original member order.
func openAPIDocument(prefix string) ([]byte, error) {
	prefix = strings.TrimRight(prefix, "/")
	if prefix == documentPrefix {
		return openAPIJSON, nil
	}
	doc, err := jsonv.Parse(openAPIJSON)
	if err != nil {
		return nil, fmt.Errorf("parse openapi.json: %w", err)
	}
	for i, e := range doc.Obj {
		if e.Key != "paths" {
			continue
		}
		for j, p := range e.Value.Obj {
			if rest, ok := strings.CutPrefix(p.Key, documentPrefix+"/"); ok {
				doc.Obj[i].Value.Obj[j].Key = prefix + "/" + rest
			}
		}
	}
	compact, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode openapi document: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, fmt.Errorf("indent openapi document: %w", err)
	}
	return out.Bytes(), nil
}

// handleOpenAPI serves the document (GET /openapi.json).
func (s *server) handleOpenAPI() http.HandlerFunc {
	body, err := openAPIDocument(s.cfg.APIPrefix)
	return func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			s.fail(w, r, fmt.Errorf("openapi document: %w", err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

// docsPage is one HTML page of the renderer, with the Content-Security-Policy that admits exactly
// its inline script and style (by hash) and nothing from elsewhere.
type docsPage struct {
	html []byte
	csp  string
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// newDocsPage builds the page. layout "single" is the one-column reference (/redoc).
func newDocsPage(title, layout string) docsPage {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<title>" + title + "</title>\n<style>" + docsCSS + "</style>\n</head>\n")
	b.WriteString("<body data-layout=\"" + layout + "\"")
	if layout == "single" {
		b.WriteString(" class=\"single\"")
	}
	b.WriteString(">\n<div id=\"app\"><p class=\"error\">Loading the API description… (this page needs JavaScript)</p></div>\n")
	b.WriteString("<script>" + docsJS + "</script>\n</body>\n</html>\n")
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src " + cspHash(docsJS),
		"style-src " + cspHash(docsCSS),
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'self'",
	}, "; ")
	return docsPage{html: []byte(b.String()), csp: csp}
}

func (p docsPage) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.csp)
	_, _ = w.Write(p.html)
}

// handleDocs serves the interactive API docs (GET /docs).
func (s *server) handleDocs() http.HandlerFunc {
	return newDocsPage("Olumi Inference Service Layer — API docs", "docs").serve
}

// handleRedoc serves the one-column API reference (GET /redoc).
func (s *server) handleRedoc() http.HandlerFunc {
	return newDocsPage("Olumi Inference Service Layer — reference", "single").serve
}
