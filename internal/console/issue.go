package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
)

// issueForm is the issuance form as the user filled it, kept when it is
// refused so that nothing pasted is lost.
type issueForm struct {
	Inst     dbtrust.Instance
	Host     string
	CSR      string
	DNSNames string
	IPs      string
	TTLDays  string
	Client   bool
	Error    string
	ErrorFor string // the field the error is about
}

func (c *console) issuePage(w http.ResponseWriter, r *http.Request, s *session) error {
	inst, err := c.svc.GetInstance(r.Context(), s.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	if !s.Can("member") {
		return dbtrust.Errorf(dbtrust.Forbidden, "issuing a certificate needs the member role")
	}
	return c.renderIssue(w, r, s, http.StatusOK, issueForm{Inst: inst, TTLDays: "90"})
}

func (c *console) renderIssue(w http.ResponseWriter, r *http.Request, s *session, status int, f issueForm) error {
	f.Host = c.svc.InstanceHost(f.Inst)
	return c.render(w, r, status, "issue", view{Title: "Issue a certificate for " + f.Inst.Name, Nav: "fleet", S: s, CSRF: s.CSRF, Data: f})
}

// issue signs a pasted CSR. The console never makes a key: the node keeps
// its own, and only the certificate comes back.
func (c *console) issue(w http.ResponseWriter, r *http.Request, s *session) error {
	inst, err := c.svc.GetInstance(r.Context(), s.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	p := r.PostForm
	f := issueForm{Inst: inst, CSR: strings.TrimSpace(p.Get("csr")), DNSNames: p.Get("dns_names"), IPs: p.Get("ips"),
		TTLDays: strings.TrimSpace(p.Get("ttl_days")), Client: p.Get("client") == "on"}
	req, err := f.request()
	if err == nil {
		var cert dbtrust.IssuedCertificate
		if cert, err = c.svc.IssueCertificate(r.Context(), s.P, inst.ID, req); err == nil {
			http.Redirect(w, r, "/ui/instances/"+inst.ID+"/certificates/"+cert.Serial+"?done=issued", http.StatusSeeOther)
			return nil
		}
	}
	if dbtrust.ErrorCode(err) != dbtrust.Invalid {
		return err
	}
	f.Error, f.ErrorFor = dbtrust.ErrorMessage(err), dbtrust.ErrorField(err)
	return c.renderIssue(w, r, s, http.StatusBadRequest, f)
}

func (f issueForm) request() (dbtrust.IssueRequest, error) {
	if f.CSR == "" {
		return dbtrust.IssueRequest{}, dbtrust.FieldError("csr", "paste the node's certificate signing request (PEM, starting with -----BEGIN CERTIFICATE REQUEST-----); the console does not make keys")
	}
	req := dbtrust.IssueRequest{CSRPEM: []byte(f.CSR), DNSNames: splitNames(f.DNSNames), IPs: splitNames(f.IPs), Client: f.Client}
	if f.TTLDays != "" {
		days, err := strconv.Atoi(f.TTLDays)
		if err != nil || days < 1 || days > 3650 {
			return req, dbtrust.FieldError("ttl", "validity must be a whole number of days from 1 to 3650, such as 90")
		}
		req.TTL = time.Duration(days) * 24 * time.Hour
	}
	return req, nil
}

// splitNames splits a list typed with commas, spaces or new lines.
func splitNames(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}
