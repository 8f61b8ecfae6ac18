package native

import (
	"net/http"
	"strconv"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/internal/pki"
)

const jsonType = "application/json"

type api struct {
	svc  service
	keys accessKeys
	cfg  Config
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error

// auth checks the bearer token and the rate limit, runs h, and writes h's
// error, if any.
func (a api) auth(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := httpx.Bearer(r)
		p, err := a.svc.Authenticate(r.Context(), token)
		_, err = httpx.Admit(w, r, a.cfg.Limits, p, err)
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			a.fail(w, r, err)
		}
	})
}

// public runs h without credentials, limited per client address.
func (a api) public(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if a.cfg.Limits != nil {
			_, err = httpx.Limit(w, r, a.cfg.Limits.Public, "ip:"+httpx.ClientAddr(r))
		}
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a api) fail(w http.ResponseWriter, r *http.Request, err error) {
	if c := dbtrust.ErrorCode(err); c == dbtrust.Internal || c == dbtrust.Unavailable {
		a.cfg.Log.Error("native request failed", "request_id", httpx.RequestID(r), "path", r.URL.Path, "err", err)
	}
	writeError(w, r, err)
}

func (a api) decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	return httpx.DecodeJSON(w, r, v, httpx.DecodeOptions{Limit: a.cfg.MaxBody, Strict: true, AllowEmpty: allowEmpty})
}

func (a api) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", jsonType)
	w.Write(openAPI)
}

// ---- instances ----

func (a api) createInstance(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.CreateInstanceRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	inst, err := a.svc.CreateInstance(r.Context(), p, req.Spec())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/instances/"+inst.ID)
	httpx.WriteJSON(w, http.StatusCreated, jsonType, client.FromInstance(inst, a.svc.InstanceEndpoints(inst)))
	return nil
}

func (a api) listInstances(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	list, err := a.svc.ListInstances(r.Context(), p, r.URL.Query().Get("tag"))
	if err != nil {
		return err
	}
	out := client.InstanceList{Instances: []client.Instance{}}
	for _, inst := range list {
		out.Instances = append(out.Instances, client.FromInstance(inst, a.svc.InstanceEndpoints(inst)))
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, out)
	return nil
}

func (a api) getInstance(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	inst, err := a.svc.GetInstance(r.Context(), p, r.PathValue("instance_id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromInstance(inst, a.svc.InstanceEndpoints(inst)))
	return nil
}

func (a api) updateInstance(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.UpdateInstanceRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	inst, err := a.svc.UpdateInstance(r.Context(), p, r.PathValue("instance_id"), req.Update())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromInstance(inst, a.svc.InstanceEndpoints(inst)))
	return nil
}

func (a api) deleteInstance(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	if err := a.svc.DeleteInstance(r.Context(), p, r.PathValue("instance_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- CAs and rotation ----

func (a api) writeCAs(w http.ResponseWriter, r *http.Request, cas []dbtrust.CA, err error) error {
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromCAs(r.PathValue("instance_id"), cas))
	return nil
}

func (a api) listCAs(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	cas, err := a.svc.InstanceCAs(r.Context(), p, r.PathValue("instance_id"))
	return a.writeCAs(w, r, cas, err)
}

func (a api) getBundle(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	b, err := a.svc.InstanceCABundle(r.Context(), p, r.PathValue("instance_id"))
	if err != nil {
		return err
	}
	h := w.Header() // canonical keys set directly: this is the native hot read
	h["Content-Type"] = pemTypeValue
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

var pemTypeValue = []string{"application/x-pem-file"}

func (a api) rotateStart(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.RotateStartRequest
	if err := a.decode(w, r, &req, true); err != nil {
		return err
	}
	cas, err := a.svc.RotateStart(r.Context(), p, r.PathValue("instance_id"), req.KeyType)
	return a.writeCAs(w, r, cas, err)
}

func (a api) rotateRollback(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	cas, err := a.svc.RotateRollback(r.Context(), p, r.PathValue("instance_id"))
	return a.writeCAs(w, r, cas, err)
}

func (a api) rotateRetire(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.ForceRequest
	if err := a.decode(w, r, &req, true); err != nil {
		return err
	}
	cas, err := a.svc.RotateRetire(r.Context(), p, r.PathValue("instance_id"), req.Force)
	return a.writeCAs(w, r, cas, err)
}

func (a api) getPolicy(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	pol, err := a.svc.GetRotationPolicy(r.Context(), p, r.PathValue("instance_id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromPolicy(pol))
	return nil
}

func (a api) putPolicy(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.PolicyRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	spec, err := req.Spec()
	if err != nil {
		return err
	}
	pol, err := a.svc.SetRotationPolicy(r.Context(), p, r.PathValue("instance_id"), spec)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromPolicy(pol))
	return nil
}

func (a api) getCRL(w http.ResponseWriter, r *http.Request) error {
	der, err := a.svc.CRL(r.Context(), r.PathValue("ca_id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(der)
	return nil
}

func (a api) getCRLPEM(w http.ResponseWriter, r *http.Request) error {
	der, err := a.svc.CRL(r.Context(), r.PathValue("ca_id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(pki.CRLPEM(der))
	return nil
}

// ---- certificates ----

func (a api) issueCertificate(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.IssueRequest
	if err := a.decode(w, r, &req, true); err != nil {
		return err
	}
	ireq, err := req.Request()
	if err != nil {
		return err
	}
	c, err := a.svc.IssueCertificate(r.Context(), p, r.PathValue("instance_id"), ireq)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/instances/"+c.InstanceID+"/certificates/"+c.Serial)
	w.Header().Set("Cache-Control", "no-store") // the answer may hold a private key
	httpx.WriteJSON(w, http.StatusCreated, jsonType, client.FromCertificate(c, a.svc.Now()))
	return nil
}

func (a api) listCertificates(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	list, err := a.svc.ListIssuedCertificates(r.Context(), p, r.PathValue("instance_id"))
	if err != nil {
		return err
	}
	out := client.CertificateList{Certificates: []client.Certificate{}}
	now := a.svc.Now()
	for _, c := range list {
		out.Certificates = append(out.Certificates, client.FromCertificate(c, now))
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, out)
	return nil
}

func (a api) getCertificate(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	c, err := a.svc.GetIssuedCertificate(r.Context(), p, r.PathValue("instance_id"), r.PathValue("serial"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromCertificate(c, a.svc.Now()))
	return nil
}

func (a api) revokeCertificate(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.RevokeRequest
	if err := a.decode(w, r, &req, true); err != nil {
		return err
	}
	c, err := a.svc.RevokeIssuedCertificate(r.Context(), p, r.PathValue("instance_id"), r.PathValue("serial"), req.Reason)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromCertificate(c, a.svc.Now()))
	return nil
}

// ---- recipes ----

func (a api) getRecipes(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	caFile := r.URL.Query().Get("ca_file")
	if len(caFile) > 1024 {
		return dbtrust.FieldError("ca_file", "ca_file must be at most 1024 characters")
	}
	inst, rs, err := a.svc.ConnectionRecipes(r.Context(), p, r.PathValue("instance_id"), caFile)
	if err != nil {
		return err
	}
	if caFile == "" {
		caFile = dbtrust.BundleFile(inst.Name)
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromRecipes(inst, a.svc.InstanceEndpoint(inst), caFile, rs))
	return nil
}

// ---- tokens and audit ----

func (a api) createToken(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.CreateTokenRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	role, err := dbtrust.ParseRole(req.Role)
	if err != nil {
		return err
	}
	t, full, err := a.svc.CreateToken(r.Context(), p, req.Name, role)
	if err != nil {
		return err
	}
	out := client.FromToken(t)
	out.Secret = full
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, jsonType, out)
	return nil
}

func (a api) createNodeToken(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.CreateNodeTokenRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	t, full, err := a.svc.CreateNodeToken(r.Context(), p, r.PathValue("instance_id"), req.Name)
	if err != nil {
		return err
	}
	out := client.FromToken(t)
	out.Secret = full
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, jsonType, out)
	return nil
}

func (a api) whoami(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.Whoami{AccountID: p.AccountID, Subject: p.Subject, Role: string(p.Role), InstanceID: p.InstanceID})
	return nil
}

func (a api) listTokens(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	list, err := a.svc.ListTokens(r.Context(), p)
	if err != nil {
		return err
	}
	out := client.TokenList{Tokens: []client.Token{}}
	for _, t := range list {
		out.Tokens = append(out.Tokens, client.FromToken(t))
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, out)
	return nil
}

func (a api) revokeToken(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	if err := a.svc.RevokeToken(r.Context(), p, r.PathValue("token_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a api) listAudit(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	f, err := client.ParseAuditFilter(r.URL.Query())
	if err != nil {
		return err
	}
	list, err := a.svc.Audit(r.Context(), p, f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.AuditPage(list, f.Limit))
	return nil
}
