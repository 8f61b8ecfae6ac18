package console

import (
	"net/http"
	"strconv"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/trustcert"
)

// ---- trust certificates and credentials (the Astra collections) ----

type trustRow struct {
	trustcert.Certificate
	State   string // trusted, untrusted or expired, now
	Urgency string
}

type trustData struct {
	Certs []trustRow
	Creds []credential.Credential
}

func (c *console) trust(w http.ResponseWriter, r *http.Request, s *session) error {
	certs, err := c.cfg.TrustCerts.List(r.Context(), s.P)
	if err != nil {
		return err
	}
	creds, err := c.cfg.Credentials.List(r.Context(), s.P)
	if err != nil {
		return err
	}
	now := c.svc.Now()
	d := trustData{Creds: creds}
	for _, ct := range certs {
		d.Certs = append(d.Certs, trustRow{Certificate: ct, State: ct.TrustState(now), Urgency: urgency(ct.NotAfter.Sub(now))})
	}
	return c.render(w, r, http.StatusOK, "trust", view{Title: "Trust store", Nav: "trust", S: s, CSRF: s.CSRF, Notice: notice(r), Data: d})
}

type trustCertData struct {
	Cert    trustRow
	Targets []string // the trust states it may be set to now
	Error   string
}

func (c *console) trustCert(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.renderTrustCert(w, r, s, http.StatusOK, "")
}

func (c *console) renderTrustCert(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) error {
	ct, err := c.cfg.TrustCerts.Get(r.Context(), s.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	now := c.svc.Now()
	d := trustCertData{Cert: trustRow{Certificate: ct, State: ct.TrustState(now), Urgency: urgency(ct.NotAfter.Sub(now))}, Error: msg}
	if !ct.ReadOnly() && d.Cert.State != trustcert.Expired {
		for _, st := range []string{trustcert.Trusted, trustcert.Untrusted} {
			if st != d.Cert.State {
				d.Targets = append(d.Targets, st)
			}
		}
	}
	return c.render(w, r, status, "trustcert", view{Title: ct.CN, Nav: "trust", S: s, CSRF: s.CSRF, Notice: notice(r), Data: d})
}

// setTrust changes a certificate's desired trust state, only if it has not
// changed since the page showed it (the form carries its revision).
func (c *console) setTrust(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	rev, _ := strconv.ParseInt(r.PostForm.Get("revision"), 10, 64)
	ct, err := c.cfg.TrustCerts.Get(r.Context(), s.P, id)
	if err == nil {
		_, err = c.cfg.TrustCerts.Update(r.Context(), s.P, id, trustcert.Input{Version: ct.Version, TrustDesired: r.PostForm.Get("state")}, rev)
	}
	switch dbtrust.ErrorCode(err) {
	case "":
		http.Redirect(w, r, "/ui/trust/certificates/"+id+"?done=trust", http.StatusSeeOther)
		return nil
	case dbtrust.Invalid:
		return c.renderTrustCert(w, r, s, http.StatusBadRequest, dbtrust.ErrorMessage(err))
	case dbtrust.PreconditionFailed:
		return c.renderTrustCert(w, r, s, http.StatusPreconditionFailed, "The certificate changed since you opened this page; here it is as it is now. Choose again.")
	}
	return err
}

type credentialData struct {
	Cred credential.Credential
}

// credential shows a credential's name, type and validity. Its key store
// is never shown: the console reads the record, not its secrets.
func (c *console) credential(w http.ResponseWriter, r *http.Request, s *session) error {
	cr, err := c.cfg.Credentials.Get(r.Context(), s.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	cr.SealedKeyStore = nil
	return c.render(w, r, http.StatusOK, "credential", view{Title: cr.Name, Nav: "trust", S: s, CSRF: s.CSRF, Data: credentialData{Cred: cr}})
}

func accessKeyRow(k accesskey.Key) keyRow {
	return keyRow{ID: k.ID, Name: k.Name, Role: k.Role, Guard: k.Role, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}
