// Package storekey derives the storage identifiers shared by every isl.Store implementation, so that
// the Redis and in-memory stores agree on what a valid query id is and never hold a raw user id (docs/api.md#state).
package storekey

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/olumi/isl/service/isl"
)

// MaxQueryIDLen bounds query ids (in characters). Query ids come back from clients on /update, so
// they are user input: the bound keeps keys small and lets a store reject junk before touching Redis.
const MaxQueryIDLen = 128

// User returns the lowercase hex SHA-256 of a user id. Being hex it is safe inside Redis keys and
// MATCH patterns (no ':', '*', '?', '[' or '\').
func User(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	return hex.EncodeToString(sum[:])
}

// Query validates a query id and returns the form used inside keys and sets. Ids made only of
// [A-Za-z0-9_.-] (every id the service issues, e.g. "query_003_1a2b3c4d") are used as they are;
// anything else is replaced by "%" + hex SHA-256, which cannot collide with a plain id because '%'
// is not in the plain alphabet. Over-long ids are a validation error, never silently truncated.
func Query(queryID string) (string, error) {
	if utf8.RuneCountInString(queryID) > MaxQueryIDLen {
		return "", &isl.Error{
			Code:    isl.EValidation,
			Message: "query_id must be at most 128 characters",
			Status:  400,
		}
	}
	for i := 0; i < len(queryID); i++ {
		if !plain(queryID[i]) {
			sum := sha256.Sum256([]byte(queryID))
			return "%" + hex.EncodeToString(sum[:]), nil
		}
	}
	return queryID, nil
}

func plain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

type responseEntry struct {
	QueryID   string          `json:"query_id"`
	Response  json.RawMessage `json:"response"`
	Timestamp string          `json:"timestamp"`
}

// Response is the element appended to a user's response history (docs/api.md#state shape
// {"query_id","response","timestamp"}). response is embedded as is when it is valid JSON (the
// handlers pass `"A"`), otherwise as a JSON string; timestamp is RFC 3339 UTC.
func Response(queryID string, response []byte, at time.Time) []byte {
	raw := json.RawMessage(response)
	if !json.Valid(response) {
		raw, _ = json.Marshal(string(response))
	}
	b, _ := json.Marshal(responseEntry{QueryID: queryID, Response: raw, Timestamp: at.UTC().Format(time.RFC3339Nano)})
	return b
}
