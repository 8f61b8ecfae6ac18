package digitalocean

import (
	"errors"
	"net/http"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// errorTable maps every core Code to DigitalOcean's status and error id. The
// message is DigitalOcean's own where it has a fixed one; otherwise the core
// error's client-safe message is sent.
var errorTable = map[dbtrust.Code]struct {
	status  int
	id      string
	message string // "" means the core error's message
}{
	dbtrust.Invalid:            {http.StatusUnprocessableEntity, "unprocessable_entity", ""},
	dbtrust.NotFound:           {http.StatusNotFound, "not_found", "The resource you requested could not be found."},
	dbtrust.Conflict:           {http.StatusConflict, "conflict", ""},
	dbtrust.Unauthorized:       {http.StatusUnauthorized, "unauthorized", "Unable to authenticate you."},
	dbtrust.Forbidden:          {http.StatusForbidden, "forbidden", "You do not have permission to perform this action."},
	dbtrust.PreconditionFailed: {http.StatusPreconditionFailed, "precondition_failed", ""},
	dbtrust.TooLarge:           {http.StatusRequestEntityTooLarge, "request_entity_too_large", ""},
	dbtrust.RateLimited:        {http.StatusTooManyRequests, "too_many_requests", "API Rate limit exceeded."},
	dbtrust.Unavailable:        {http.StatusServiceUnavailable, "service_unavailable", "The service is temporarily unavailable. Please try again."},
	dbtrust.Internal:           {http.StatusInternalServerError, "server_error", "Unexpected server-side error"},
}

// errorBody is DigitalOcean's error schema: id and message required.
type errorBody struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	row, ok := errorTable[dbtrust.ErrorCode(err)]
	if !ok {
		row = errorTable[dbtrust.Internal]
	}
	msg := row.message
	if msg == "" {
		msg = dbtrust.ErrorMessage(err)
	}
	status, id := row.status, row.id
	if errors.Is(err, httpx.ErrMalformed) { // not JSON at all: a bad request, not a validation failure
		status, id = http.StatusBadRequest, "bad_request"
	}
	httpx.SetRetryAfter(w, status)
	httpx.WriteJSON(w, status, contentType, errorBody{ID: id, Message: msg, RequestID: httpx.RequestID(r)})
}
