package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
)

// notices are the confirmations a page shows after a redirect (?done=...):
// a fixed list, so that a link cannot put words in the console's mouth.
var notices = map[string]string{
	"created":  "Instance created, with its first CA.",
	"start":    "Rotation started: the new CA is now published in the bundle beside the current one.",
	"finish":   "Rotation finished: the new CA signs from now on; the old one is still served as previous.",
	"rollback": "Rotation rolled back: the old CA is current again; the new one is served as next.",
	"retire":   "The previous CA is retired and no longer served.",
	"revoked":  "Certificate revoked: its serial is in its CA's CRL.",
	"issued":   "Certificate issued. Install it on the node with the key it keeps; clients verify it with the instance's CA bundle.",
	"token":    "Token revoked.",
	"key":      "Access key revoked.",
	"trust":    "Trust state changed.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

type caRow struct {
	dbtrust.CA
	Urgency  string
	LiveCert int // unexpired, unrevoked certificates it signed
}

type certRow struct {
	dbtrust.IssuedCertificate
	State   string // live, expired or revoked
	CAState string
}

type instanceData struct {
	Inst      dbtrust.Instance
	Endpoints []string
	Stage     stage
	CAs       []caRow
	Certs     []certRow
	CertTotal int
	CertQ     string
	CertState string
	Recipes   []dbtrust.Recipe
	Timeline  timeline
	Previous  *caRow // the previous CA, during stageFinished
	KeyTypes  []string
	// Status lists who fetched the bundle and whether they hold the new
	// CA; only admins see it (it names tokens and access keys).
	Policy        dbtrust.RotationPolicy
	Status        *dbtrust.RotationStatus
	AgentsLacking int // node agents without the new CA: finishing needs force
}

func (c *console) instance(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, id := r.Context(), r.PathValue("id")
	inst, recipes, err := c.svc.ConnectionRecipes(ctx, s.P, id, "")
	if err != nil {
		return err
	}
	cas, err := c.svc.InstanceCAs(ctx, s.P, id)
	if err != nil {
		return err
	}
	certs, err := c.svc.ListIssuedCertificates(ctx, s.P, id)
	if err != nil {
		return err
	}
	now := c.svc.Now()
	q := r.URL.Query()
	d := instanceData{Inst: inst, Endpoints: c.endpoints(inst), Stage: stageOf(cas), Recipes: recipes, CertTotal: len(certs),
		CertQ: strings.TrimSpace(q.Get("q")), CertState: q.Get("state"),
		KeyTypes: []string{"ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"}}
	caState := map[string]string{}
	for _, ca := range cas {
		caState[ca.ID] = string(ca.State)
	}
	live := map[string]int{}
	for i := len(certs) - 1; i >= 0; i-- { // newest first
		row := certRow{IssuedCertificate: certs[i], State: certState(certs[i], now), CAState: caState[certs[i].CAID]}
		if row.State == "live" {
			live[row.CAID]++
		}
		if d.certMatches(row) {
			d.Certs = append(d.Certs, row)
		}
	}
	for i := len(cas) - 1; i >= 0; i-- { // newest first
		row := caRow{CA: cas[i], Urgency: urgency(cas[i].NotAfter.Sub(now)), LiveCert: live[cas[i].ID]}
		d.CAs = append(d.CAs, row)
		if row.State == dbtrust.CAPrevious {
			d.Previous = &row
		}
	}
	if d.Policy, err = c.svc.GetRotationPolicy(ctx, s.P, id); err != nil {
		return err
	}
	if s.Can("admin") {
		st, err := c.svc.RotationStatus(ctx, s.P, id)
		if err != nil {
			return err
		}
		d.Status = &st
		for _, cl := range st.Clients {
			if cl.Kind == "agent" && !cl.HoldsNext {
				d.AgentsLacking++
			}
		}
	}
	d.Timeline = buildTimeline("Expiry of "+inst.Name+"'s CAs and certificates", instanceSpans(inst, cas, certs, now, false), now)
	return c.render(w, r, http.StatusOK, "instance", view{Title: inst.Name, Nav: "fleet", S: s, CSRF: s.CSRF, Notice: notice(r), Data: d})
}

func certState(c dbtrust.IssuedCertificate, now time.Time) string {
	switch {
	case c.RevokedAt != nil:
		return "revoked"
	case !c.NotAfter.After(now):
		return "expired"
	}
	return "live"
}

func (d instanceData) certMatches(row certRow) bool {
	if d.CertState != "" && row.State != d.CertState {
		return false
	}
	if d.CertQ == "" {
		return true
	}
	q := strings.ToLower(d.CertQ)
	for _, h := range append(append([]string{row.Serial, row.CommonName, row.Fingerprint}, row.DNSNames...), row.IPs...) {
		if strings.Contains(strings.ToLower(h), q) {
			return true
		}
	}
	return false
}

func (c *console) bundle(w http.ResponseWriter, r *http.Request, s *session) error {
	inst, err := c.svc.GetInstance(r.Context(), s.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	pem, err := c.svc.InstanceCABundle(r.Context(), s.P, inst.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="`+inst.Name+`-ca.pem"`)
	w.Write(pem)
	return nil
}

func (c *console) rotate(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, id, step := r.Context(), r.PathValue("id"), r.PathValue("step")
	var err error
	switch step {
	case "start":
		_, err = c.svc.RotateStart(ctx, s.P, id, r.PostForm.Get("key_type"))
	case "finish":
		_, _, err = c.svc.RotateFinish(ctx, s.P, id, r.PostForm.Get("force") == "on")
	case "rollback":
		_, err = c.svc.RotateRollback(ctx, s.P, id)
	case "retire":
		_, err = c.svc.RotateRetire(ctx, s.P, id, r.PostForm.Get("force") == "on")
	default:
		return dbtrust.Errorf(dbtrust.NotFound, "there is no rotation step %q: the steps are start, finish, rollback and retire", step)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/instances/"+id+"?done="+step+"#rotation", http.StatusSeeOther)
	return nil
}

type certData struct {
	Inst dbtrust.Instance
	Cert certRow
}

func (c *console) certificate(w http.ResponseWriter, r *http.Request, s *session) error {
	inst, err := c.svc.GetInstance(r.Context(), s.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	cert, err := c.svc.GetIssuedCertificate(r.Context(), s.P, inst.ID, r.PathValue("serial"))
	if err != nil {
		return err
	}
	if r.URL.Query().Get("download") == "pem" {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Content-Disposition", `attachment; filename="`+cert.Serial+`.crt"`)
		w.Write(cert.CertPEM)
		return nil
	}
	d := certData{Inst: inst, Cert: certRow{IssuedCertificate: cert, State: certState(cert, c.svc.Now())}}
	return c.render(w, r, http.StatusOK, "certificate", view{Title: "Certificate " + cert.Serial, Nav: "fleet", S: s, CSRF: s.CSRF, Notice: notice(r), Data: d})
}

func (c *console) revoke(w http.ResponseWriter, r *http.Request, s *session) error {
	id, serial := r.PathValue("id"), r.PathValue("serial")
	if _, err := c.svc.RevokeIssuedCertificate(r.Context(), s.P, id, serial, r.PostForm.Get("reason")); err != nil {
		return err
	}
	back := "/ui/instances/" + id + "?done=revoked#certificates"
	if r.PostForm.Get("from") == "certificate" {
		back = "/ui/instances/" + id + "/certificates/" + serial + "?done=revoked"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}
