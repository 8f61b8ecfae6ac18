package astra

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/trustcert"
)

const (
	typeCertificate  = "application/astra-certificate"
	typeCredential   = "application/astra-credential"
	mediaCertificate = typeCertificate + "+json"
	mediaCredential  = typeCredential + "+json"
	mediaJSON        = "application/json"
	mediaProblem     = "application/problem+json"
)

type api struct {
	svc   service
	certs certificates
	creds credentials
	cfg   Config
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error

// wrap authenticates the bearer token and checks the path's account ID, then
// runs h and answers its error, if any, as an Astra problem.
func (a api) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.authenticate(r)
		if _, lerr := httpx.Limit(w, a.cfg.Limiter, httpx.LimitKey(r, p.Subject, err == nil)); lerr != nil {
			err = lerr
		}
		if err == nil {
			err = checkAccount(r, p)
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			httpx.LogFailure(a.cfg.Log, r, "astra", writeProblem(w, r, toProblem(r, err)), err)
		}
	})
}

func (a api) authenticate(r *http.Request) (dbtrust.Principal, error) {
	if r.Header.Get("Authorization") == "" {
		return dbtrust.Principal{}, newProblem(3)
	}
	token, ok := httpx.Bearer(r)
	if !ok {
		return dbtrust.Principal{}, newProblem(4)
	}
	p, err := a.svc.Authenticate(r.Context(), token)
	if dbtrust.ErrorCode(err) == dbtrust.Unauthorized {
		return p, newProblem(4)
	}
	return p, err
}

// checkAccount answers a malformed account ID with problem 33 and another
// account's ID exactly as an account that does not exist.
func checkAccount(r *http.Request, p dbtrust.Principal) error {
	id := r.PathValue("account_id")
	if !dbtrust.ValidID(id) {
		return newProblem(33)
	}
	if id != p.AccountID {
		return dbtrust.Errorf(dbtrust.NotFound, "no such account")
	}
	return nil
}

// resourceID returns the path's resource ID, or problem 35 when malformed.
func resourceID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !dbtrust.ValidID(id) {
		return "", newProblem(35)
	}
	return id, nil
}

func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeProblem(w, r, newProblem(69))
	})
}

func unknownCollection() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, newProblem(2))
	})
}

// negotiate picks the media type of a single-resource response: the
// resource's own type when Accept names it, application/json when Accept is
// absent or allows JSON, else problem 32.
func negotiate(r *http.Request, resource string) (string, error) {
	accept := strings.Join(r.Header.Values("Accept"), ",")
	if strings.TrimSpace(accept) == "" {
		return mediaJSON, nil
	}
	jsonOK := false
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
				continue
			}
		}
		switch mt {
		case resource:
			return resource, nil
		case mediaJSON, "application/*", "*/*":
			jsonOK = true
		}
	}
	if jsonOK {
		return mediaJSON, nil
	}
	return "", newProblem(32)
}

// acceptsExactly reports whether Accept names media type mt.
func acceptsExactly(r *http.Request, mt string) bool {
	for _, part := range strings.Split(strings.Join(r.Header.Values("Accept"), ","), ",") {
		if t, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && t == mt {
			return true
		}
	}
	return false
}

func etag(body []byte) string {
	sum := md5.Sum(body)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, dbtrust.Wrap(dbtrust.Internal, err, "response encoding failed")
	}
	return b, nil
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", etag(body))
	w.WriteHeader(status)
	w.Write(body)
}

// ---- request bodies ----

// readBody reads and checks a request body against sch: 85 over the limit,
// 7 when it is not JSON, 8 when it does not fit the schema. The body is
// parsed as JSON whatever its Content-Type (Astra's own curl examples send none).
func (a api) readBody(w http.ResponseWriter, r *http.Request, sch *schema, into any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return newProblem(85)
		}
		return newProblem(7)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return newProblem(7)
	}
	if _, err := dec.Token(); err != io.EOF {
		return newProblem(7)
	}
	if err := sch.check(doc, ""); err != nil {
		return schemaFailure(err.Error())
	}
	if err := json.Unmarshal(body, into); err != nil {
		return schemaFailure(err.Error())
	}
	return nil
}

type metadataIn struct {
	Labels *[]dbtrust.Label `json:"labels"`
}

func labelsOf(m *metadataIn) *[]dbtrust.Label {
	if m == nil {
		return nil
	}
	return m.Labels
}

func boolOf(s *string) *bool {
	if s == nil {
		return nil
	}
	b := *s == "true"
	return &b
}

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parseTime reads a timestamp the schema has already checked.
func parseTime(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, strings.Replace(*s, ",", ".", 1))
	if err != nil {
		return nil, schemaFailure("/" + field + ": not a valid date and time")
	}
	return &t, nil
}

// ---- metadata and conditional requests ----

type metadataOut struct {
	Labels                []dbtrust.Label `json:"labels"`
	CreationTimestamp     string          `json:"creationTimestamp"`
	ModificationTimestamp string          `json:"modificationTimestamp"`
	CreatedBy             string          `json:"createdBy"`
	ModifiedBy            string          `json:"modifiedBy,omitempty"`
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func metadataOf(m dbtrust.Meta) metadataOut {
	labels := m.Labels
	if labels == nil {
		labels = []dbtrust.Label{}
	}
	return metadataOut{Labels: labels, CreationTimestamp: stamp(m.CreatedAt), ModificationTimestamp: stamp(m.ModifiedAt),
		CreatedBy: m.CreatedBy, ModifiedBy: m.ModifiedBy}
}

// preconditions checks If-Match, If-Unmodified-Since and If-Modified-Since
// against the current resource. conditional is true when any was sent: the
// update must then apply to exactly the revision checked here.
func preconditions(r *http.Request, currentETag string, modified time.Time) (conditional bool, err error) {
	fail := newProblem(38)
	if im := r.Header.Get("If-Match"); im != "" {
		conditional = true
		match := false
		for _, t := range strings.Split(im, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == currentETag || `"`+t+`"` == currentETag {
				match = true
			}
		}
		if !match {
			return true, fail
		}
	}
	mod := modified.UTC().Truncate(time.Second)
	if v := r.Header.Get("If-Unmodified-Since"); v != "" {
		conditional = true
		t, err := http.ParseTime(v)
		if err != nil {
			return true, newProblem(12)
		}
		if mod.After(t) {
			return true, fail
		}
	}
	if v := r.Header.Get("If-Modified-Since"); v != "" {
		conditional = true
		t, err := http.ParseTime(v)
		if err != nil {
			return true, newProblem(12)
		}
		if !mod.After(t) {
			return true, fail
		}
	}
	return conditional, nil
}

func location(r *http.Request, id string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + strings.TrimSuffix(r.URL.Path, "/") + "/" + id
}

// ---- lists ----

// keysetSource reads a page of a collection in creation order straight from
// the store: the items after a position, and the collection's size.
type keysetSource struct {
	after func(pos *position, n int) ([]*listEntry, error)
	count func() (int, error)
}

// list answers a collection GET. load returns every item of the collection in
// its default order; keyset, when not nil, serves limited pages in creation
// order without loading the rest.
func (a api) list(w http.ResponseWriter, r *http.Request, p dbtrust.Principal, collection string, fields collectionFields,
	load func() ([]*listEntry, error), keyset *keysetSource) error {
	lq, err := parseListQuery(r.URL.Query(), fields)
	if err != nil {
		return err
	}
	fp := lq.fingerprint(collection)
	if lq.rawCont != nil {
		plain, err := a.svc.OpenCursor(p, collection, lq.rawCont)
		if err != nil {
			return badParam("continue", "not a continue token this server issued for this list")
		}
		var pos position
		if err := json.Unmarshal(plain, &pos); err != nil || pos.Query != fp {
			return badParam("continue", "the token belongs to a list with another filter or order")
		}
		lq.after = &pos
	}
	var entries []*listEntry
	direct := keyset != nil && len(lq.filters) == 0 && lq.orderBy == "" && lq.limit > 0
	if direct {
		// One more than the page shows whether another page follows.
		entries, err = keyset.after(lq.after, lq.skip+lq.limit+1)
	} else {
		entries, err = load()
	}
	if err != nil {
		return err
	}
	page, total, more, err := lq.page(entries, fp)
	if err != nil {
		return dbtrust.Wrap(dbtrust.Internal, err, "list failed")
	}
	if direct && lq.count {
		if total, err = keyset.count(); err != nil {
			return err
		}
	}
	type listMeta struct {
		Continue string `json:"continue,omitempty"`
		Count    *int   `json:"count,omitempty"`
	}
	var meta listMeta
	if lq.count {
		meta.Count = &total
	}
	if more && len(page) > 0 {
		pos, err := marshal(page[len(page)-1].position(fp))
		if err != nil {
			return err
		}
		sealed, err := a.svc.SealCursor(p, collection, pos)
		if err != nil {
			return err
		}
		meta.Continue = base64.StdEncoding.EncodeToString(sealed)
	}
	// The items are JSON already: join them rather than encode them again.
	var buf bytes.Buffer
	buf.WriteString(`{"items":[`)
	for i, e := range page {
		if i > 0 {
			buf.WriteByte(',')
		}
		var item []byte
		if lq.include == nil {
			item, err = e.json()
		} else {
			item, err = includeRow(e, lq.include)
		}
		if err != nil {
			return err
		}
		buf.Write(item)
	}
	buf.WriteString(`],"metadata":`)
	m, err := marshal(meta)
	if err != nil {
		return err
	}
	buf.Write(m)
	buf.WriteByte('}')
	writeBody(w, http.StatusOK, mediaJSON, buf.Bytes())
	return nil
}

// includeRow is an item as the array of its members named by include.
func includeRow(e *listEntry, include []string) ([]byte, error) {
	doc, err := e.decoded()
	if err != nil {
		return nil, dbtrust.Wrap(dbtrust.Internal, err, "list failed")
	}
	row := make([]any, len(include))
	for i, f := range include {
		v, ok := doc[f]
		if !ok {
			// Astra's list schema admits no null here: an unset member
			// (keyType, say) reads as "".
			v = ""
		}
		row[i] = v
	}
	return marshal(row)
}

// ---- certificates ----

type transitionOut struct {
	From string   `json:"from"`
	To   []string `json:"to"`
}

type certificateOut struct {
	Type                  string          `json:"type"`
	Version               string          `json:"version"`
	ID                    string          `json:"id"`
	CertUse               string          `json:"certUse"`
	Cert                  string          `json:"cert"`
	CN                    string          `json:"cn"`
	ExpiryTimestamp       string          `json:"expiryTimestamp"`
	IsSelfSigned          string          `json:"isSelfSigned"`
	TrustState            string          `json:"trustState"`
	TrustStateTransitions []transitionOut `json:"trustStateTransitions"`
	TrustStateDesired     string          `json:"trustStateDesired"`
	TrustStateDetails     []struct{}      `json:"trustStateDetails"`
	Metadata              metadataOut     `json:"metadata"`
}

var transitions = func() []transitionOut {
	out := make([]transitionOut, 0, len(trustcert.Transitions))
	for _, t := range trustcert.Transitions {
		out = append(out, transitionOut{From: t.From, To: t.To})
	}
	return out
}()

func (a api) certificateJSON(c trustcert.Certificate) ([]byte, error) {
	return marshal(certificateOut{
		Type: typeCertificate, Version: c.Version, ID: c.ID, CertUse: c.CertUse,
		Cert: base64.StdEncoding.EncodeToString(c.CertPEM), CN: c.CN, ExpiryTimestamp: stamp(c.NotAfter),
		IsSelfSigned: strconv.FormatBool(c.SelfSigned), TrustState: c.TrustState(a.cfg.Clock()),
		TrustStateTransitions: transitions, TrustStateDesired: c.TrustDesired, TrustStateDetails: []struct{}{},
		Metadata: metadataOf(c.Meta),
	})
}

type certificateIn struct {
	Version           string      `json:"version"`
	ID                string      `json:"id"`
	CertUse           *string     `json:"certUse"`
	Cert              *string     `json:"cert"`
	IsSelfSigned      *string     `json:"isSelfSigned"`
	TrustStateDesired *string     `json:"trustStateDesired"`
	Metadata          *metadataIn `json:"metadata"`
}

func (in certificateIn) input() (trustcert.Input, error) {
	out := trustcert.Input{ID: in.ID, Version: in.Version, CertUse: strOf(in.CertUse),
		SelfSigned: boolOf(in.IsSelfSigned), TrustDesired: strOf(in.TrustStateDesired), Labels: labelsOf(in.Metadata)}
	if in.Cert != nil {
		pemText, err := base64.StdEncoding.DecodeString(*in.Cert)
		if err != nil {
			return out, schemaFailure("/cert: not standard base64")
		}
		out.CertPEM = pemText
		if out.CertPEM == nil {
			out.CertPEM = []byte{}
		}
	}
	return out, nil
}

func (a api) listCertificates(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	return a.list(w, r, p, "certificates", certificateFields, func() ([]*listEntry, error) {
		list, err := a.certs.List(r.Context(), p)
		if err != nil {
			return nil, err
		}
		out := make([]*listEntry, 0, len(list))
		for _, c := range list {
			out = append(out, &listEntry{id: c.ID, created: c.CreatedAt.UnixMicro(), render: func() ([]byte, error) { return a.certificateJSON(c) }})
		}
		return out, nil
	}, nil)
}

func (a api) createCertificate(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	ct, err := negotiate(r, mediaCertificate)
	if err != nil {
		return err
	}
	var body certificateIn
	if err := a.readBody(w, r, certificatePostSchema, &body); err != nil {
		return err
	}
	in, err := body.input()
	if err != nil {
		return err
	}
	c, err := a.certs.Create(r.Context(), p, in)
	if err != nil {
		return err
	}
	out, err := a.certificateJSON(c)
	if err != nil {
		return err
	}
	w.Header().Set("Location", location(r, c.ID))
	writeBody(w, http.StatusCreated, ct, out)
	return nil
}

func (a api) getCertificate(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	id, err := resourceID(r)
	if err != nil {
		return err
	}
	ct, err := negotiate(r, mediaCertificate)
	if err != nil {
		return err
	}
	c, err := a.certs.Get(r.Context(), p, id)
	if err != nil {
		return err
	}
	out, err := a.certificateJSON(c)
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, ct, out)
	return nil
}

// updateCertificate answers 204 with no body, as Astra's definition says; the
// new ETag is in the header.
func (a api) updateCertificate(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	id, err := resourceID(r)
	if err != nil {
		return err
	}
	var body certificateIn
	if err := a.readBody(w, r, certificatePutSchema, &body); err != nil {
		return err
	}
	in, err := body.input()
	if err != nil {
		return err
	}
	cur, err := a.certs.Get(r.Context(), p, id)
	if err != nil {
		return err
	}
	curJSON, err := a.certificateJSON(cur)
	if err != nil {
		return err
	}
	var ifRevision int64
	if conditional, err := preconditions(r, etag(curJSON), cur.ModifiedAt); err != nil {
		return err
	} else if conditional {
		ifRevision = cur.Revision
	}
	c, err := a.certs.Update(r.Context(), p, id, in, ifRevision)
	if err != nil {
		return err
	}
	out, err := a.certificateJSON(c)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(out))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a api) deleteCertificate(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	id, err := resourceID(r)
	if err != nil {
		return err
	}
	if err := a.certs.Delete(r.Context(), p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- credentials ----

type credentialOut struct {
	Type                string      `json:"type"`
	Version             string      `json:"version"`
	ID                  string      `json:"id"`
	Name                string      `json:"name"`
	KeyType             string      `json:"keyType,omitempty"`
	Valid               string      `json:"valid"`
	ValidFromTimestamp  string      `json:"validFromTimestamp,omitempty"`
	ValidUntilTimestamp string      `json:"validUntilTimestamp,omitempty"`
	Metadata            metadataOut `json:"metadata"`
}

// credentialJSON renders a credential. It has no keyStore member: the key
// store is never returned.
func credentialJSON(c credential.Credential) ([]byte, error) {
	out := credentialOut{Type: typeCredential, Version: c.Version, ID: c.ID, Name: c.Name, KeyType: c.KeyType,
		Valid: strconv.FormatBool(c.Valid), Metadata: metadataOf(c.Meta)}
	if c.ValidFrom != nil {
		out.ValidFromTimestamp = stamp(*c.ValidFrom)
	}
	if c.ValidUntil != nil {
		out.ValidUntilTimestamp = stamp(*c.ValidUntil)
	}
	return marshal(out)
}

type credentialIn struct {
	Version             string             `json:"version"`
	ID                  string             `json:"id"`
	Name                *string            `json:"name"`
	KeyType             *string            `json:"keyType"`
	KeyStore            *map[string]string `json:"keyStore"`
	Valid               *string            `json:"valid"`
	ValidFromTimestamp  *string            `json:"validFromTimestamp"`
	ValidUntilTimestamp *string            `json:"validUntilTimestamp"`
	Metadata            *metadataIn        `json:"metadata"`
}

func (in credentialIn) input() (credential.Input, error) {
	out := credential.Input{ID: in.ID, Version: in.Version, Name: in.Name, KeyType: strOf(in.KeyType),
		Valid: boolOf(in.Valid), Labels: labelsOf(in.Metadata)}
	var err error
	if out.ValidFrom, err = parseTime("validFromTimestamp", in.ValidFromTimestamp); err != nil {
		return out, err
	}
	if out.ValidUntil, err = parseTime("validUntilTimestamp", in.ValidUntilTimestamp); err != nil {
		return out, err
	}
	if in.KeyStore != nil {
		out.KeyStore = make(map[string][]byte, len(*in.KeyStore))
		for k, v := range *in.KeyStore {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return out, schemaFailure("/keyStore/" + k + ": not standard base64")
			}
			out.KeyStore[k] = b
		}
	}
	return out, nil
}

func (a api) listCredentials(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	entries := func(list []credential.Credential) []*listEntry {
		out := make([]*listEntry, 0, len(list))
		for _, c := range list {
			out = append(out, &listEntry{id: c.ID, created: c.CreatedAt.UnixMicro(), render: func() ([]byte, error) { return credentialJSON(c) }})
		}
		return out
	}
	load := func() ([]*listEntry, error) {
		list, err := a.creds.List(r.Context(), p)
		return entries(list), err
	}
	keyset := &keysetSource{
		after: func(pos *position, n int) ([]*listEntry, error) {
			var at time.Time
			var id string
			if pos != nil {
				at, id = time.UnixMicro(pos.Created), pos.ID
			}
			list, err := a.creds.ListAfter(r.Context(), p, at, id, n)
			return entries(list), err
		},
		count: func() (int, error) { return a.creds.Count(r.Context(), p) },
	}
	return a.list(w, r, p, "credentials", credentialFields, load, keyset)
}

func (a api) createCredential(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	ct, err := negotiate(r, mediaCredential)
	if err != nil {
		return err
	}
	var body credentialIn
	if err := a.readBody(w, r, credentialPostSchema, &body); err != nil {
		return err
	}
	in, err := body.input()
	if err != nil {
		return err
	}
	c, err := a.creds.Create(r.Context(), p, in)
	if err != nil {
		return err
	}
	out, err := credentialJSON(c)
	if err != nil {
		return err
	}
	w.Header().Set("Location", location(r, c.ID))
	writeBody(w, http.StatusCreated, ct, out)
	return nil
}

func (a api) getCredential(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	id, err := resourceID(r)
	if err != nil {
		return err
	}
	ct, err := negotiate(r, mediaCredential)
	if err != nil {
		return err
	}
	c, err := a.creds.Get(r.Context(), p, id)
	if err != nil {
		return err
	}
	out, err := credentialJSON(c)
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, ct, out)
	return nil
}

// updateCredential answers 200 with the updated resource when Accept names
// application/astra-credential+json (as actoolkit sends, and as real Astra
// servers answered it), otherwise 204 with no body, as Astra's definition says.
func (a api) updateCredential(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	id, err := resourceID(r)
	if err != nil {
		return err
	}
	var body credentialIn
	if err := a.readBody(w, r, credentialPutSchema, &body); err != nil {
		return err
	}
	in, err := body.input()
	if err != nil {
		return err
	}
	cur, err := a.creds.Get(r.Context(), p, id)
	if err != nil {
		return err
	}
	curJSON, err := credentialJSON(cur)
	if err != nil {
		return err
	}
	var ifRevision int64
	if conditional, err := preconditions(r, etag(curJSON), cur.ModifiedAt); err != nil {
		return err
	} else if conditional {
		ifRevision = cur.Revision
	}
	c, err := a.creds.Update(r.Context(), p, id, in, ifRevision)
	if err != nil {
		return err
	}
	out, err := credentialJSON(c)
	if err != nil {
		return err
	}
	if acceptsExactly(r, mediaCredential) {
		writeBody(w, http.StatusOK, mediaCredential, out)
		return nil
	}
	w.Header().Set("ETag", etag(out))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a api) deleteCredential(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	id, err := resourceID(r)
	if err != nil {
		return err
	}
	if err := a.creds.Delete(r.Context(), p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
