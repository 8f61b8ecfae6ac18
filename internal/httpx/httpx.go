// Package httpx holds the small HTTP helpers every dialect shares: request IDs,
// JSON encoding and decoding with limits, bearer tokens, the access log.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/dbtrust/dbtrust"
)

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the ID the middleware (Front) gave r.
func RequestID(r *http.Request) string {
	if c, ok := r.Context().(*reqCtx); ok {
		return c.id
	}
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}

// StatusWriter records the status a handler wrote.
type StatusWriter struct {
	http.ResponseWriter
	Status int
	Bytes  int
}

func (s *StatusWriter) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusWriter) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.Bytes += n
	return n, err
}

func (s *StatusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// WriteJSON writes v as JSON with the given status and content type.
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"message":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(b)
}

// Bearer returns the token of an "Authorization: Bearer <token>" header.
func Bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// DecodeOptions tune DecodeJSON.
type DecodeOptions struct {
	Limit      int64 // maximum body size in bytes
	Strict     bool  // reject unknown fields
	AllowEmpty bool  // an empty body decodes as {}
}

// DecodeJSON reads one JSON value from r's body into v. Failures are
// *dbtrust.Error: TooLarge over the limit, Invalid for malformed JSON, a wrong
// type (naming the field), an unknown field when strict, or trailing data.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, opt DecodeOptions) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, opt.Limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return dbtrust.Errorf(dbtrust.TooLarge, "the request body is larger than %d bytes", opt.Limit)
		}
		return dbtrust.Wrap(dbtrust.Invalid, err, "the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if opt.AllowEmpty {
			body = []byte("{}")
		} else {
			return dbtrust.Errorf(dbtrust.Invalid, "the request body is empty; a JSON object is expected")
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if opt.Strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// Anything but white space after the value is refused. (Decoder.More
	// would let a stray ']' or '}' through.)
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return dbtrust.Errorf(dbtrust.Invalid, "the request body holds more than one JSON value")
	}
	return nil
}

// ErrMalformed marks a body that is not JSON at all (as opposed to JSON of the
// wrong shape); dialects that tell the two apart test for it with errors.Is.
var ErrMalformed = errors.New("malformed JSON")

func decodeError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return &dbtrust.Error{Code: dbtrust.Invalid, Message: "the request body is not valid JSON", Err: ErrMalformed}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return &dbtrust.Error{Code: dbtrust.Invalid, Message: fmt.Sprintf("the request body must be a JSON %s", jsonKind(te)), Err: err}
		}
		return &dbtrust.Error{Code: dbtrust.Invalid, Field: field, Message: fmt.Sprintf("field %q must be %s, not %s", field, jsonKind(te), te.Value), Err: err}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; the field name is all we take.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &dbtrust.Error{Code: dbtrust.Invalid, Field: name, Message: fmt.Sprintf("unknown field %q", name), Err: err}
	}
	return &dbtrust.Error{Code: dbtrust.Invalid, Message: "the request body is not valid JSON", Err: ErrMalformed}
}

func jsonKind(te *json.UnmarshalTypeError) string {
	switch te.Type.Kind().String() {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return te.Type.String()
}

// LogFailure logs a request that failed with status: at ERROR when the
// server is at fault (5xx), at DEBUG when the client is (4xx), so that no
// caller can fill the error log at will.
func LogFailure(log *slog.Logger, r *http.Request, dialect string, status int, err error) {
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	log.Log(r.Context(), level, dialect+" request failed", "request_id", RequestID(r), "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
}

// RetryAfterSeconds is how long a 503 or a 429 asks a client to wait, when
// the rate limiter has not said otherwise.
const RetryAfterSeconds = 5

// SetRetryAfter gives an answer of status 503 or 429 a Retry-After header,
// unless it has one already (Limit sets the rate limit's own). Every dialect
// and the server's readiness check call it before writing such an answer.
func SetRetryAfter(w http.ResponseWriter, status int) {
	if (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	}
}
