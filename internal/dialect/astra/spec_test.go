package astra_test

// The response shapes of Astra's certificates and credentials operations, as
// Astra's published API definition (Astra API 24.02.0) declares them: per
// operation and status, the media type and the body schema, and for problem
// responses the problem numbers allowed. They are derived by reading that
// definition and written here in our own form; the definition itself is not
// part of this project.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// shape is a JSON value shape: a tiny, test-only subset of JSON Schema.
type shape struct {
	kind     string            // "object", "array", "string", "number", "any", "nonnull"
	fields   map[string]*shape // object members
	required []string
	open     bool // other members allowed
	elem     *shape
	oneOf    []*shape
	enum     []string
	re       *regexp.Regexp
	min, max int // string length; max 0 = none
	minItems int
	unique   bool
}

func (s *shape) validate(v any, at string) error {
	if len(s.oneOf) > 0 {
		var msgs []string
		for _, alt := range s.oneOf {
			if err := alt.validate(v, at); err == nil {
				return nil
			} else {
				msgs = append(msgs, err.Error())
			}
		}
		return fmt.Errorf("%s: no alternative matches: %s", at, strings.Join(msgs, " | "))
	}
	switch s.kind {
	case "any":
		return nil
	case "nonnull": // an empty schema without nullable: anything but null
		if v == nil {
			return fmt.Errorf("%s: null is not allowed", at)
		}
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, want object", at, v)
		}
		for _, r := range s.required {
			if _, ok := m[r]; !ok {
				return fmt.Errorf("%s: missing required %q", at, r)
			}
		}
		for k, fv := range m {
			fs, ok := s.fields[k]
			if !ok {
				if !s.open {
					return fmt.Errorf("%s: unexpected member %q (the object is closed)", at, k)
				}
				continue
			}
			if err := fs.validate(fv, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %T, want array", at, v)
		}
		if len(a) < s.minItems {
			return fmt.Errorf("%s: %d items, want at least %d", at, len(a), s.minItems)
		}
		seen := map[string]bool{}
		for i, e := range a {
			if s.unique {
				b, _ := json.Marshal(e)
				if seen[string(b)] {
					return fmt.Errorf("%s: items must be unique; %s repeats", at, b)
				}
				seen[string(b)] = true
			}
			if s.elem != nil {
				if err := s.elem.validate(e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %T (%v), want string", at, v, v)
		}
		if len(s.enum) > 0 {
			found := false
			for _, e := range s.enum {
				found = found || e == str
			}
			if !found {
				return fmt.Errorf("%s: %q not in %v", at, str, s.enum)
			}
		}
		if n := len([]rune(str)); n < s.min || (s.max > 0 && n > s.max) {
			return fmt.Errorf("%s: length %d outside %d..%d", at, n, s.min, s.max)
		}
		if s.re != nil && !s.re.MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, s.re)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: %T, want number", at, v)
		}
	}
	return nil
}

var (
	specBase64 = regexp.MustCompile(`^([A-Za-z0-9+/]{4})*(([A-Za-z0-9+/]{2})==|([A-Za-z0-9+/]{3})=)?$`)
	specTime   = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-([0][1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(|[.,]([0-9]{1,9}))Z$`)
	specID     = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}|((0){8}(-(0){4}){3}-(0){12}))$`)
	// dbtrust emits whole seconds only (stricter than the definition).
	wholeSeconds = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$`)
)

func sstr() *shape                    { return &shape{kind: "string"} }
func senum(values ...string) *shape   { return &shape{kind: "string", enum: values} }
func spat(re *regexp.Regexp) *shape   { return &shape{kind: "string", re: re} }
func sarr(elem *shape, u bool) *shape { return &shape{kind: "array", elem: elem, unique: u} }
func sobj(fields map[string]*shape, required ...string) *shape {
	return &shape{kind: "object", fields: fields, required: required}
}

var (
	shapeLabel    = sobj(map[string]*shape{"name": sstr(), "value": sstr()}, "name", "value")
	shapeMetadata = sobj(map[string]*shape{ // type_astra_metadata_update, as the responses reference it
		"labels": sarr(shapeLabel, true), "creationTimestamp": spat(specTime), "modificationTimestamp": spat(specTime),
		"createdBy": spat(specID), "modifiedBy": spat(specID),
	})
	shapeCertificate = sobj(map[string]*shape{
		"type":                  senum("application/astra-certificate"),
		"version":               senum("1.1", "1.0"),
		"id":                    spat(specID),
		"certUse":               senum("rootCA", "intermediateCA"),
		"cert":                  spat(specBase64),
		"cn":                    {kind: "string", min: 1, max: 511},
		"expiryTimestamp":       spat(specTime),
		"isSelfSigned":          senum("true", "false"),
		"trustState":            senum("untrusted", "trusted", "expired"),
		"trustStateTransitions": sarr(sobj(map[string]*shape{"from": sstr(), "to": sarr(sstr(), true)}, "from", "to"), true),
		"trustStateDesired":     senum("untrusted", "trusted"),
		"trustStateDetails": sarr(sobj(map[string]*shape{"type": sstr(), "title": {kind: "string", min: 1, max: 40},
			"detail": {kind: "string", min: 1, max: 511}, "additionalDetails": {kind: "object", open: true}}, "type", "title", "detail"), true),
		"metadata": shapeMetadata,
	}, "type", "version", "id", "certUse", "cert", "cn", "expiryTimestamp", "isSelfSigned", "trustState",
		"trustStateTransitions", "trustStateDetails", "metadata")
	shapeCredential = sobj(map[string]*shape{
		"type":                senum("application/astra-credential"),
		"version":             senum("1.1", "1.0"),
		"id":                  spat(specID),
		"name":                {kind: "string", min: 1, max: 127},
		"keyType":             senum("generic", "passwordHash", "apikey", "kubeconfig", "certificate", "privkey", "s3"),
		"valid":               senum("true", "false"),
		"validFromTimestamp":  spat(specTime),
		"validUntilTimestamp": spat(specTime),
		"metadata":            shapeMetadata,
	}, "type", "version", "id", "name", "valid", "metadata")
	shapeListMetadata = sobj(map[string]*shape{
		"continue": spat(specBase64), "count": {kind: "number"}, "labels": sarr(shapeLabel, true),
		"creationTimestamp": spat(specTime), "modificationTimestamp": spat(specTime),
		"createdBy": spat(specID), "modifiedBy": spat(specID),
	})
)

func shapeList(item *shape) *shape {
	return sobj(map[string]*shape{
		"items":    sarr(&shape{oneOf: []*shape{item, {kind: "array", elem: &shape{kind: "nonnull"}}}}, true),
		"metadata": shapeListMetadata,
	}, "items", "metadata")
}

// problemTexts are the fixed title, detail and status of each problem number.
var problemTexts = map[int][3]string{
	1:   {"Resource not found", "The resource specified in the request URI wasn't found.", "404"},
	2:   {"Collection not found", "The collection specified in the request URI wasn't found.", "404"},
	3:   {"Missing bearer token", "The request is missing the required bearer token.", "401"},
	4:   {"Invalid bearer token", "The bearer token provided is invalid, revoked, or doesn't exist.", "401"},
	5:   {"Invalid query parameters", "The supplied query parameters are invalid.", "400"},
	6:   {"Query parameters not supported", "The supplied query parameters aren't supported for this endpoint.", "400"},
	7:   {"Invalid JSON payload", "The request body is not valid JSON.", "400"},
	8:   {"Invalid JSON resource", "The request body JSON doesn't conform to the schema.", "400"},
	9:   {"Invalid JSON resource", "The request body JSON didn't pass extended validation.", "400"},
	10:  {"JSON resource conflict", "The request body JSON contains a field that conflicts with an idempotent value.", "409"},
	11:  {"Operation not permitted", "The requested operation isn't permitted.", "403"},
	12:  {"Invalid headers", "The request headers are invalid.", "400"},
	32:  {"Unsupported content type", "The response can't be returned in the requested format.", "406"},
	33:  {"Invalid account ID", "The specified account ID isn't in the appropriate format.", "400"},
	34:  {"Internal server error", "The server was unable to process this request.", "500"},
	35:  {"Invalid resource ID", "The resource ID isn't in the appropriate format.", "400"},
	38:  {"Precondition not met", "The conditional headers aren't satisfied.", "412"},
	39:  {"Credential exists", "A credential of this type already exists.", "409"},
	41:  {"Service not ready", "Currently, the service can't respond to this request.", "503"},
	44:  {"Kubeconfig exists", "A credential referencing this cluster already exists. Remove the existing credential for this cluster and retry the request.", "409"},
	69:  {"Method not supported", "The requested method isn't supported for the specified resource.", "405"},
	85:  {"Request body too large", "The request body is too large.", "413"},
	110: {"Certificate expired", "The certificate trust state can't be changed because the certificate has expired.", "400"},
}

// problemShape is the shape of problem n, with the extension members the
// definition gives it (problem schemas are open).
func problemShape(n int) *shape {
	txt := problemTexts[n]
	fields := map[string]*shape{
		"type":          senum("https://astra.netapp.io/problems/" + strconv.Itoa(n)),
		"title":         senum(txt[0]),
		"detail":        senum(txt[1]),
		"status":        senum(txt[2]),
		"correlationID": spat(specID),
	}
	nameReason := &shape{kind: "array", minItems: 1, unique: true,
		elem: sobj(map[string]*shape{"name": sstr(), "reason": sstr()}, "name", "reason")}
	switch n {
	case 5, 6, 12:
		fields["invalidParams"] = nameReason
	case 8:
		fields["schemaValidationFailure"] = sstr()
	case 9, 10:
		fields["invalidFields"] = nameReason
	}
	s := sobj(fields, "type", "title", "detail", "status")
	s.open = true
	return s
}

// response is one declared response: a body shape with its media type, or
// the problem numbers allowed (as application/problem+json), or no body.
type response struct {
	media    string
	body     *shape
	problems []int
	location bool // a Location header is declared
}

const (
	rCerts = "/accounts/{account_id}/core/v1/certificates"
	rCert  = rCerts + "/{certificate_id}"
	rCreds = "/accounts/{account_id}/core/v1/credentials"
	rCred  = rCreds + "/{credential_id}"
)

func probs(n ...int) response { return response{media: "application/problem+json", problems: n} }

// declared holds every response the definition declares for the eight
// operations, by "METHOD route" and then status.
var declared = map[string]map[int]response{
	"GET " + rCerts: {
		200: {media: "application/json", body: shapeList(shapeCertificate)},
		404: probs(2), 401: probs(3, 4), 400: probs(5, 6), 503: probs(41), 409: probs(164),
	},
	"POST " + rCerts: {
		201: {media: "application/astra-certificate+json", body: shapeCertificate, location: true},
		401: probs(3, 4), 400: probs(7, 8, 9), 403: probs(11), 500: probs(34), 503: probs(41),
	},
	"GET " + rCert: {
		200: {media: "application/astra-certificate+json", body: shapeCertificate},
		404: probs(2), 401: probs(3, 4), 400: probs(5, 6), 403: probs(11), 503: probs(41), 409: probs(164),
	},
	"PUT " + rCert: {
		204: {}, 404: probs(2), 401: probs(3, 4), 400: probs(5, 6, 7, 8, 9), 409: probs(10), 403: probs(11), 503: probs(41),
	},
	"DELETE " + rCert: {204: {}, 403: probs(11), 503: probs(41)},
	"GET " + rCreds: {
		200: {media: "application/json", body: shapeList(shapeCredential)},
		404: probs(2), 401: probs(3, 4, 166), 400: probs(5, 6),
	},
	"POST " + rCreds: {
		201: {media: "application/astra-credential+json", body: shapeCredential, location: true},
		404: probs(2), 401: probs(3, 4), 400: probs(5, 6, 7, 8, 9), 409: probs(10), 403: probs(11),
	},
	"GET " + rCred: {
		200: {media: "application/astra-credential+json", body: shapeCredential},
		404: probs(2), 401: probs(3, 4), 400: probs(5, 6), 403: probs(11),
	},
	"PUT " + rCred: {
		204: {}, 400: probs(7, 8, 9, 12), 403: probs(11), 406: probs(32), 500: probs(34), 412: probs(38),
		409: probs(39), 502: probs(40), 503: probs(41),
	},
	"DELETE " + rCred: {
		204: {}, 404: probs(1), 401: probs(3, 4), 400: probs(5, 6), 403: probs(11),
	},
}

// deviations are the answers where dbtrust knowingly departs from the
// definition's declared responses, each for a reason the vendor contract
// gives. Keyed by "METHOD route status/problem" ("*" for any route).
var deviations = map[string]string{
	"* 400/33":                   "malformed account ID: Astra documents problem 33, which no operation lists",
	"* 400/35":                   "malformed resource ID: Astra documents problem 35, which no operation lists",
	"PUT " + rCert + " 400/110":  "changing the trust of an expired certificate: problem 110 per the certificate docs",
	"POST " + rCreds + " 409/39": "a second passwordHash credential for one user: problem 39 per the credential docs",
	"POST " + rCreds + " 409/44": "a second kubeconfig for one cluster: problem 44 per the credential docs",
	"PUT " + rCred + " 409/10":   "id or keyType differing from the stored one: problem 10 per the credential docs",
	"PUT " + rCred + " 409/44":   "renaming onto another kubeconfig's cluster",
	"PUT " + rCred + " 200":      "200 + resource when Accept names the credential type (real servers and actoolkit do this)",
}

// checkResponse checks one response against the declared responses of its
// operation. Statuses the operation does not declare are checked as
// well-formed problems (the definition's validators allow undeclared
// statuses). It returns the problem number, if the response is one.
func checkResponse(op string, status int, header http.Header, body []byte) (int, error) {
	resps := declared[op]
	if resps == nil {
		return 0, fmt.Errorf("unknown operation %q", op)
	}
	ct := header.Get("Content-Type")
	if status < 300 {
		if status == 200 && deviations[op+" 200"] != "" {
			if ct != "application/astra-credential+json" {
				return 0, fmt.Errorf("%s 200: Content-Type %q", op, ct)
			}
			return 0, validateJSON(shapeCredential, body)
		}
		r, ok := resps[status]
		if !ok {
			return 0, fmt.Errorf("%s: undeclared success status %d", op, status)
		}
		if r.body == nil {
			if len(body) != 0 {
				return 0, fmt.Errorf("%s %d: body %q where none is declared", op, status, body)
			}
			return 0, nil
		}
		// Astra declares single resources only as their own media type;
		// application/json is what a client gets when it does not ask for it.
		if ct != r.media && !(ct == "application/json" && r.media != "application/json") {
			return 0, fmt.Errorf("%s %d: Content-Type %q, want %q", op, status, ct, r.media)
		}
		if r.location && header.Get("Location") == "" {
			return 0, fmt.Errorf("%s %d: no Location header", op, status)
		}
		if header.Get("ETag") == "" {
			return 0, fmt.Errorf("%s %d: no ETag header", op, status)
		}
		return 0, validateJSON(r.body, body)
	}
	if ct != "application/problem+json" {
		return 0, fmt.Errorf("%s %d: Content-Type %q, want application/problem+json", op, status, ct)
	}
	var p struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return 0, fmt.Errorf("%s %d: problem body does not decode: %v", op, status, err)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(p.Type, "https://astra.netapp.io/problems/"))
	if err != nil || problemTexts[n][0] == "" {
		return 0, fmt.Errorf("%s %d: unknown problem type %q", op, status, p.Type)
	}
	if problemTexts[n][2] != strconv.Itoa(status) {
		return n, fmt.Errorf("%s: problem %d sent with status %d", op, n, status)
	}
	if err := validateJSON(problemShape(n), body); err != nil {
		return n, err
	}
	r, ok := resps[status]
	if !ok {
		return n, nil // undeclared status: well-formed is all that can be asked
	}
	for _, allowed := range r.problems {
		if allowed == n {
			return n, nil
		}
	}
	key := fmt.Sprintf("%d/%d", status, n)
	if deviations["* "+key] != "" || deviations[op+" "+key] != "" {
		return n, nil
	}
	return n, fmt.Errorf("%s %d: problem %d is not among the declared %v", op, status, n, r.problems)
}

func validateJSON(s *shape, body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("body is not JSON: %v", err)
	}
	return s.validate(v, "$")
}
