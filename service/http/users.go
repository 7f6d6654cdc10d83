package http

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"
)

// handleDeleteUser erases every key of the user (docs/api.md#state, GDPR); 204 whether or not anything existed.
func (s *server) handleDeleteUser() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw := chi.URLParam(r, "user_id")
		userID, err := url.PathUnescape(raw)
		if err != nil {
			userID = raw
		}
		if userID == "" {
			s.fail(w, r, badRequest("user_id must not be empty"))
			return
		}
		if err := s.store.DeleteUser(r.Context(), userID); err != nil {
			s.fail(w, r, engineErr(err, "delete user"))
			return
		}
		s.log.Info("user_deleted", "user", UserTag(s.cfg.SecretKey, userID))
		w.WriteHeader(http.StatusNoContent)
	}
}
