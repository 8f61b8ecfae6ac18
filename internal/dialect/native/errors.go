package native

import (
	"net/http"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// errorTable maps every core Code to the native API's status. The wire code
// is the Code itself; the message is the core error's client-safe message.
var errorTable = map[dbtrust.Code]int{
	dbtrust.Invalid:            http.StatusBadRequest,
	dbtrust.NotFound:           http.StatusNotFound,
	dbtrust.Conflict:           http.StatusConflict,
	dbtrust.Unauthorized:       http.StatusUnauthorized,
	dbtrust.Forbidden:          http.StatusForbidden,
	dbtrust.PreconditionFailed: http.StatusPreconditionFailed,
	dbtrust.TooLarge:           http.StatusRequestEntityTooLarge,
	dbtrust.RateLimited:        http.StatusTooManyRequests,
	dbtrust.Unavailable:        http.StatusServiceUnavailable,
	dbtrust.Internal:           http.StatusInternalServerError,
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := dbtrust.ErrorCode(err)
	status, ok := errorTable[code]
	if !ok {
		code, status = dbtrust.Internal, http.StatusInternalServerError
	}
	httpx.SetRetryAfter(w, status)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dbtrust"`)
	}
	var b client.ErrorBody
	b.Error.Code, b.Error.Message, b.Error.Field, b.RequestID = string(code), dbtrust.ErrorMessage(err), dbtrust.ErrorField(err), httpx.RequestID(r)
	httpx.WriteJSON(w, status, "application/json", b)
}
