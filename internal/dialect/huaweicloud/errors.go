package huaweicloud

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// product says which Huawei service a route imitates: each has its own error
// codes (DDS "DBS.*", DCS "DCS.*" and the numeric DMS-family codes), while
// authentication, authorization and throttling are the API gateway's
// ("APIGW.*") for all of them.
type product int

const (
	dds product = iota
	dcs
	iam
)

// wireError is one row of an error table: the status and Huawei's code and
// message. An empty message means "send the core error's own message".
type wireError struct {
	status int
	code   string
	msg    string
}

type perProduct struct{ dds, dcs wireError }

func (pp perProduct) of(p product) wireError {
	if p == dcs {
		return pp.dcs
	}
	return pp.dds
}

func both(w wireError) perProduct { return perProduct{w, w} }

// errorTable maps every core Code to Huawei's wire error, per product. Codes
// and messages come from the DDS and DCS "Error Codes" pages and the API
// gateway's error code list; where Huawei documents nothing for a case (DCS
// has no documented 409, say) the nearest documented code is used.
var errorTable = map[dbtrust.Code]perProduct{
	dbtrust.Invalid: {
		wireError{http.StatusBadRequest, "DBS.200001", "Parameter error."},
		wireError{http.StatusBadRequest, "DCS.4202", "ssl request params are invalid."},
	},
	dbtrust.NotFound: {
		wireError{http.StatusNotFound, "DBS.200002", "The DB instance does not exist."},
		wireError{http.StatusNotFound, "111404022", "This DCS instance does not exist."},
	},
	dbtrust.Conflict: {
		wireError{http.StatusConflict, "DBS.200019", "Another operation is being performed on the DB instance."},
		wireError{http.StatusBadRequest, "111400026", "This operation is not allowed due to the instance status."},
	},
	dbtrust.Unauthorized:       both(wireError{http.StatusUnauthorized, "APIGW.0301", "Incorrect IAM authentication information"}),
	dbtrust.Forbidden:          both(wireError{http.StatusForbidden, "APIGW.0302", "The IAM user is not authorized to access the API"}),
	dbtrust.PreconditionFailed: {wireError{http.StatusBadRequest, "DBS.200001", "Parameter error."}, wireError{http.StatusBadRequest, "DCS.4202", "ssl request params are invalid."}},
	dbtrust.TooLarge: {
		wireError{http.StatusBadRequest, "DBS.200001", "Parameter error."},
		wireError{http.StatusBadRequest, "111400005", "The message body contains invalid characters or is not in JSON format."},
	},
	dbtrust.RateLimited: both(wireError{http.StatusTooManyRequests, "APIGW.0308", "The throttling threshold has been reached."}),
	dbtrust.Unavailable: {
		wireError{http.StatusServiceUnavailable, "DBS.200005", "Server failure."},
		wireError{http.StatusServiceUnavailable, "DCS.5010", "Failed to operate SSL in database."},
	},
	dbtrust.Internal: {
		wireError{http.StatusInternalServerError, "DBS.200005", "Server failure."},
		wireError{http.StatusInternalServerError, "DCS.5010", "Failed to operate SSL in database."},
	},
}

// reason is a failure that only this dialect knows, with codes of its own.
type reason int

const (
	badProjectID   reason = iota + 1 // project_id is not 32 lower-case hex
	badInstanceID                    // instance_id cannot be an instance ID
	badBody                          // the body is not the JSON object expected
	sslUnsupported                   // DCS: TLS off, or not Redis 6/7
	unknownRoute                     // nothing is published at this path
)

var reasonTable = map[reason]perProduct{
	badProjectID: {
		wireError{http.StatusBadRequest, "DBS.200001", "Parameter error: invalid project ID."},
		wireError{http.StatusBadRequest, "111400002", "Invalid project ID format."},
	},
	badInstanceID: {
		wireError{http.StatusBadRequest, "DBS.200001", "Parameter error: invalid instance ID."},
		wireError{http.StatusBadRequest, "111400061", "Invalid instance ID format."},
	},
	badBody: {
		wireError{http.StatusBadRequest, "DBS.200001", "Parameter error."},
		wireError{http.StatusBadRequest, "111400005", "The message body contains invalid characters or is not in JSON format."},
	},
	sslUnsupported: {
		wireError{http.StatusBadRequest, "DBS.200001", "Parameter error."},
		wireError{http.StatusBadRequest, "DCS.4201", "Do not support SSL."},
	},
	unknownRoute: both(wireError{http.StatusNotFound, "APIGW.0101", "The API does not exist or has not been published in the environment."}),
}

// dialectError is a failure with a reason of this dialect.
type dialectError struct {
	reason reason
	detail string // for the log only
}

func (e *dialectError) Error() string { return "huaweicloud: " + e.detail }

func fail(r reason, detail string) error { return &dialectError{reason: r, detail: detail} }

// errorBody is Huawei's error shape. DCS adds error_ext_msg (always null);
// the gateway adds request_id.
type errorBody struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
	RequestID string `json:"request_id,omitempty"`
}

type dcsErrorBody struct {
	ErrorCode   string  `json:"error_code"`
	ErrorMsg    string  `json:"error_msg"`
	ErrorExtMsg *string `json:"error_ext_msg"`
	RequestID   string  `json:"request_id,omitempty"`
}

// wireFor returns the wire error for err on a route of product p.
func wireFor(p product, err error) wireError {
	var de *dialectError
	if errors.As(err, &de) {
		if row, ok := reasonTable[de.reason]; ok {
			return row.of(p)
		}
	}
	row, ok := errorTable[dbtrust.ErrorCode(err)]
	if !ok {
		row = errorTable[dbtrust.Internal]
	}
	w := row.of(p)
	switch dbtrust.ErrorCode(err) {
	case dbtrust.Unauthorized, dbtrust.Forbidden:
		// The gateway's messages carry a detail after a colon.
		w.msg += ": " + dbtrust.ErrorMessage(err)
	}
	return w
}

func writeError(w http.ResponseWriter, r *http.Request, p product, err error) {
	we := wireFor(p, err)
	httpx.SetRetryAfter(w, we.status)
	rid := ""
	if strings.HasPrefix(we.code, "APIGW.") {
		rid = httpx.RequestID(r)
	}
	if p == dcs {
		writeJSON(w, we.status, dcsErrorBody{ErrorCode: we.code, ErrorMsg: we.msg, RequestID: rid})
		return
	}
	writeJSON(w, we.status, errorBody{ErrorCode: we.code, ErrorMsg: we.msg, RequestID: rid})
}

// s3Error is the S3/OBS XML error of the download links.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
}

func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	b, _ := xml.Marshal(s3Error{Code: code, Message: msg, RequestID: httpx.RequestID(r)})
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Cache-Control", "no-store")
	httpx.SetRetryAfter(w, status)
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(b)
}
