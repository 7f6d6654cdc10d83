// Package integration is the black-box contract suite the CEE front end relies on, runnable against
// any deployed ISL URL. Run (a plain function taking *testing.T) holds the checks so that the
// end-to-end tests reuse them through nginx; integration_test.go runs them against ISL_HOST.
package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/olumi/isl/benchmarks/payloads"
)

// Client talks to one ISL deployment.
type Client struct {
	Base   string // e.g. https://isl.example.com
	APIKey string // sent as X-API-Key when non-empty
	HTTP   *http.Client
}

// FromEnv builds a client from ISL_HOST, ISL_API_KEY and ISL_INSECURE (=true accepts self-signed
// certificates). ok is false when ISL_HOST is unset.
func FromEnv() (c *Client, ok bool) {
	host := os.Getenv("ISL_HOST")
	if host == "" {
		return nil, false
	}
	return NewClient(host, os.Getenv("ISL_API_KEY"), os.Getenv("ISL_INSECURE") == "true"), true
}

// NewClient returns a client with a 30 s timeout (nginx's proxy timeout).
func NewClient(base, key string, insecure bool) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opt-in for self-signed certs
	}
	return &Client{Base: strings.TrimRight(base, "/"), APIKey: key, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Response is one answer.
type Response struct {
	Status int
	Header http.Header
	Raw    []byte
}

// JSON decodes the body into a generic value (numbers as float64).
func (r Response) JSON() (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(r.Raw, &m); err != nil {
		return nil, fmt.Errorf("decode %d response %.200q: %w", r.Status, r.Raw, err)
	}
	return m, nil
}

// Do sends one request; withKey=false omits the API key (to test 401).
func (c *Client) Do(ctx context.Context, method, path string, body []byte, withKey bool) (Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if withKey && c.APIKey != "" {
		req.Header.Set("X-API-Key", c.APIKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}, nil
}

// Post sends body to an API path with the key.
func (c *Client) Post(ctx context.Context, path string, body []byte) (Response, error) {
	return c.Do(ctx, http.MethodPost, path, body, true)
}

// Elicit starts the preference flow for user (docs/api.md#elicit context) and returns the first query id.
func (c *Client) Elicit(ctx context.Context, user string) (string, error) {
	r, err := c.Post(ctx, payloads.Elicit.Path, payloads.ElicitBody(user))
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusOK {
		return "", fmt.Errorf("elicit: status %d: %.300s", r.Status, r.Raw)
	}
	return payloads.FirstQueryID(r.Raw)
}

// UpdateResult is the part of an /update answer the flow needs.
type UpdateResult struct {
	QueriesCompleted int
	NextQueryID      string
	Raw              []byte
}

// Update answers queryID with "A" and returns the completed count and the next query id.
func (c *Client) Update(ctx context.Context, user, queryID string) (UpdateResult, error) {
	r, err := c.Post(ctx, payloads.Update.Path, payloads.UpdateBody(user, queryID, "A"))
	if err != nil {
		return UpdateResult{}, err
	}
	if r.Status != http.StatusOK {
		return UpdateResult{Raw: r.Raw}, fmt.Errorf("update: status %d: %.300s", r.Status, r.Raw)
	}
	var u struct {
		QueriesCompleted int `json:"queries_completed"`
	}
	if err := json.Unmarshal(r.Raw, &u); err != nil {
		return UpdateResult{}, fmt.Errorf("decode update: %w", err)
	}
	next, err := payloads.FirstQueryID(r.Raw)
	if err != nil {
		return UpdateResult{}, err
	}
	return UpdateResult{QueriesCompleted: u.QueriesCompleted, NextQueryID: next, Raw: r.Raw}, nil
}

// DeleteUser erases the user's state (docs/api.md#state).
func (c *Client) DeleteUser(ctx context.Context, user string) (Response, error) {
	return c.Do(ctx, http.MethodDelete, "/api/v1/users/"+user, nil, true)
}
