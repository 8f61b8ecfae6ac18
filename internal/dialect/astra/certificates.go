package astra

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/trustcert"
)

// The certificates collection: uploaded trust certificates and, read-only,
// the instances' CAs.

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

// certificateCollection is the certificates collection's single resources:
// an update answers 204 with no body, as Astra's definition says.
func (a api) certificateCollection() collection[trustcert.Certificate, certificateIn, trustcert.Input] {
	return collection[trustcert.Certificate, certificateIn, trustcert.Input]{
		media: mediaCertificate, postSchema: certificatePostSchema, putSchema: certificatePutSchema,
		render: a.certificateJSON,
		head:   func(c trustcert.Certificate) (string, dbtrust.Meta) { return c.ID, c.Meta },
		create: a.certs.Create, get: a.certs.Get, update: a.certs.Update, remove: a.certs.Delete,
	}
}
