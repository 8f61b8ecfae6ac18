package astra

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/trustcert"
)

// problemDef is one of Astra's problem types: its number fixes the type URI,
// status, title and detail (the texts are Astra's own, verbatim).
type problemDef struct {
	status int
	title  string
	detail string
}

// problems is the one table of Astra problem numbers this dialect answers with.
var problems = map[int]problemDef{
	1:   {http.StatusNotFound, "Resource not found", "The resource specified in the request URI wasn't found."},
	2:   {http.StatusNotFound, "Collection not found", "The collection specified in the request URI wasn't found."},
	3:   {http.StatusUnauthorized, "Missing bearer token", "The request is missing the required bearer token."},
	4:   {http.StatusUnauthorized, "Invalid bearer token", "The bearer token provided is invalid, revoked, or doesn't exist."},
	5:   {http.StatusBadRequest, "Invalid query parameters", "The supplied query parameters are invalid."},
	6:   {http.StatusBadRequest, "Query parameters not supported", "The supplied query parameters aren't supported for this endpoint."},
	7:   {http.StatusBadRequest, "Invalid JSON payload", "The request body is not valid JSON."},
	8:   {http.StatusBadRequest, "Invalid JSON resource", "The request body JSON doesn't conform to the schema."},
	9:   {http.StatusBadRequest, "Invalid JSON resource", "The request body JSON didn't pass extended validation."},
	10:  {http.StatusConflict, "JSON resource conflict", "The request body JSON contains a field that conflicts with an idempotent value."},
	11:  {http.StatusForbidden, "Operation not permitted", "The requested operation isn't permitted."},
	12:  {http.StatusBadRequest, "Invalid headers", "The request headers are invalid."},
	32:  {http.StatusNotAcceptable, "Unsupported content type", "The response can't be returned in the requested format."},
	33:  {http.StatusBadRequest, "Invalid account ID", "The specified account ID isn't in the appropriate format."},
	34:  {http.StatusInternalServerError, "Internal server error", "The server was unable to process this request."},
	35:  {http.StatusBadRequest, "Invalid resource ID", "The resource ID isn't in the appropriate format."},
	38:  {http.StatusPreconditionFailed, "Precondition not met", "The conditional headers aren't satisfied."},
	39:  {http.StatusConflict, "Credential exists", "A credential of this type already exists."},
	41:  {http.StatusServiceUnavailable, "Service not ready", "Currently, the service can't respond to this request."},
	44:  {http.StatusConflict, "Kubeconfig exists", "A credential referencing this cluster already exists. Remove the existing credential for this cluster and retry the request."},
	69:  {http.StatusMethodNotAllowed, "Method not supported", "The requested method isn't supported for the specified resource."},
	85:  {http.StatusRequestEntityTooLarge, "Request body too large", "The request body is too large."},
	110: {http.StatusBadRequest, "Certificate expired", "The certificate trust state can't be changed because the certificate has expired."},
}

// codeProblems maps every core Code to the problem it is answered with when
// nothing more specific is known. A test fails when a Code has no row.
var codeProblems = map[dbtrust.Code]int{
	dbtrust.Invalid:            9,
	dbtrust.NotFound:           2, // 1 on DELETE, as Astra's own DELETE answers
	dbtrust.Conflict:           10,
	dbtrust.Unauthorized:       4,
	dbtrust.Forbidden:          11,
	dbtrust.PreconditionFailed: 38,
	dbtrust.TooLarge:           85,
	dbtrust.RateLimited:        41,
	dbtrust.Unavailable:        41,
	dbtrust.Internal:           34,
}

// reasonProblems refines a core error by the reason it carries.
var reasonProblems = []struct {
	reason error
	n      int
}{
	{trustcert.ErrExpired, 110},
	{credential.ErrExists, 39},
	{credential.ErrKubeconfigExists, 44},
	{httpx.ErrMalformed, 7},
	{errMissingToken, 3},
}

type nameReason struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// problem is an error answered as one of Astra's problems, with its extension
// members.
type problem struct {
	n             int
	invalidParams []nameReason // 5, 6, 12
	schemaFailure string       // 8
	invalidFields []nameReason // 9
}

func (p *problem) Error() string { return "astra problem " + strconv.Itoa(p.n) }

func newProblem(n int) *problem { return &problem{n: n} }

func badParam(name, reason string) *problem {
	return &problem{n: 5, invalidParams: []nameReason{{name, reason}}}
}

func schemaFailure(msg string) *problem { return &problem{n: 8, schemaFailure: msg} }

// problemBody is Astra's problem detail; status is a string.
type problemBody struct {
	Type                    string       `json:"type"`
	Title                   string       `json:"title"`
	Detail                  string       `json:"detail"`
	Status                  string       `json:"status"`
	CorrelationID           string       `json:"correlationID,omitempty"`
	InvalidParams           []nameReason `json:"invalidParams,omitempty"`
	SchemaValidationFailure string       `json:"schemaValidationFailure,omitempty"`
	InvalidFields           []nameReason `json:"invalidFields,omitempty"`
}

// toProblem turns any error into the problem it is answered with.
func toProblem(r *http.Request, err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	for _, rp := range reasonProblems {
		if errors.Is(err, rp.reason) {
			return newProblem(rp.n)
		}
	}
	code := dbtrust.ErrorCode(err)
	n, ok := codeProblems[code]
	if !ok {
		n = 34
	}
	switch {
	case code == dbtrust.NotFound && r.Method == http.MethodDelete:
		n = 1
	case n == 9:
		field := dbtrust.ErrorField(err)
		if field == "" {
			field = "body"
		}
		return &problem{n: 9, invalidFields: []nameReason{{field, dbtrust.ErrorMessage(err)}}}
	}
	return newProblem(n)
}

// writeProblem answers p and returns the status it wrote.
func writeProblem(w http.ResponseWriter, r *http.Request, p *problem) int {
	def, ok := problems[p.n]
	if !ok {
		p, def = newProblem(34), problems[34]
	}
	if def.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="astra"`)
	}
	httpx.SetRetryAfter(w, def.status)
	httpx.WriteJSON(w, def.status, mediaProblem, problemBody{
		Type: "https://astra.netapp.io/problems/" + strconv.Itoa(p.n), Title: def.title, Detail: def.detail,
		Status: strconv.Itoa(def.status), CorrelationID: httpx.RequestID(r),
		InvalidParams: p.invalidParams, SchemaValidationFailure: p.schemaFailure, InvalidFields: p.invalidFields,
	})
	return def.status
}
