package httpauth

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// errRouteNotFound is SAMA's reply to any route it does not serve.
var errRouteNotFound = protocol.ErrRouteNotFound

// statusCodes maps a wire error's status to the HTTP status of the reply.
// SAMA answers HTTP errors with the wire status itself; keeping the mapping in
// one table makes that an explicit decision per status, and a wire status not
// listed here is treated as an internal error (500, logged) rather than
// leaking an unplanned status to clients.
var statusCodes = map[int]int{
	400: http.StatusBadRequest,
	401: http.StatusUnauthorized,
	403: http.StatusForbidden,
	404: http.StatusNotFound,
	409: http.StatusConflict,
	413: http.StatusRequestEntityTooLarge,
	422: http.StatusUnprocessableEntity,
	429: http.StatusTooManyRequests,
	500: http.StatusInternalServerError,
	503: http.StatusServiceUnavailable,
}

// ErrorStatus returns the HTTP status and the client-visible message for err.
// Anything that is not a *protocol.Error, or whose status is not in the table,
// is internal: 500 "Internal server error.".
func ErrorStatus(err error) (status int, message string) {
	we := protocol.ToWire(err)
	status, ok := statusCodes[we.Status]
	if !ok {
		we = protocol.ErrInternal
		status = http.StatusInternalServerError
	}
	return status, we.Message
}

// Error writes err as SAMA does: a non-2xx text/plain reply whose body is the
// message (the web client shows it). A client that sends
// "Accept: application/json" (and not text/plain) gets the wire error
// instead, {"status", "message", "errors": {field: [...]}}, so field-level
// validation errors reach it too. Only internal errors are logged, with
// their real text, which never reaches the client; a throttled request gets
// Retry-After in whole seconds, a busy server (503) "Retry-After: 1".
func (h *Handler) Error(w http.ResponseWriter, r *http.Request, err error) {
	status, message := ErrorStatus(err)
	if status == http.StatusInternalServerError {
		h.log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).
			Msg("http request failed")
	}
	hdr := w.Header()
	if d, ok := retryAfter(err); ok && status == http.StatusTooManyRequests {
		hdr.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10))
	}
	if status == http.StatusServiceUnavailable {
		hdr.Set("Retry-After", "1") // a full hashing queue drains within seconds
	}
	body, contentType := []byte(message), "text/plain; charset=utf-8"
	if wantsJSON(r) {
		we := protocol.Error{Status: status, Message: message}
		if status != http.StatusInternalServerError {
			we.Errors = protocol.ToWire(err).Errors
		}
		body, _ = json.Marshal(we) // a struct of strings: cannot fail
		contentType = "application/json"
	}
	hdr.Set("Content-Type", contentType)
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// wantsJSON reports whether the client asked for JSON rather than text.
func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "text/plain")
}

// retryAfter is how long a throttled client should wait, at least one second.
func retryAfter(err error) (time.Duration, bool) {
	te, ok := errors.AsType[*auth.ThrottledError](err)
	if !ok {
		return 0, false
	}
	return max(te.RetryAfter, time.Second), true
}
