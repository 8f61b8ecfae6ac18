package trustcert

import (
	"context"
	"sort"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/google/uuid"
)

// Who may do what with uploaded certificates. Each role includes the ones
// before it (viewer < member < admin < owner).
const (
	roleRead  = dbtrust.RoleViewer // list and read
	roleWrite = dbtrust.RoleAdmin  // create, update, delete
)

// Service holds the rules of uploaded certificates. It is safe for concurrent
// use.
type Service struct {
	core  *dbtrust.Service
	store Store
}

// New returns a Service keeping certificates in store, under the core's
// roles, clock, audit log and instances.
func New(core *dbtrust.Service, store Store) *Service {
	return &Service{core: core, store: store}
}

// Input is a create or update of a certificate. On update, a zero field
// keeps the stored value.
type Input struct {
	ID           string // update only: when set it must name the certificate addressed
	Version      string // "1.0" or "1.1"
	CertPEM      []byte // the PEM text (the wire's base64 already decoded)
	CertUse      string
	SelfSigned   *bool
	TrustDesired string
	Labels       *[]dbtrust.Label // nil: empty on create, kept on update
}

// parseCert checks a PEM certificate and returns its CN and expiry.
func parseCert(certPEM []byte) (cn string, notAfter time.Time, err error) {
	certs, perr := pki.ParseCertsPEM(certPEM)
	if perr != nil {
		return "", time.Time{}, &dbtrust.Error{Code: dbtrust.Invalid, Field: "cert", Message: "cert must be the base64 of a PEM certificate that parses", Err: perr}
	}
	c := certs[0]
	cn = c.Subject.CommonName
	if cn == "" && len(c.DNSNames) > 0 {
		cn = c.DNSNames[0]
	}
	if cn == "" || len(cn) > 511 {
		return "", time.Time{}, dbtrust.FieldError("cert", "the certificate must have a subject CN or a DNS name of at most 511 characters")
	}
	return cn, c.NotAfter.UTC(), nil
}

// Create stores an uploaded certificate in p's account.
func (s *Service) Create(ctx context.Context, p dbtrust.Principal, in Input) (Certificate, error) {
	if err := dbtrust.Require(p, roleWrite); err != nil {
		return Certificate{}, err
	}
	if err := dbtrust.CheckRecordVersion(in.Version); err != nil {
		return Certificate{}, err
	}
	cn, notAfter, err := parseCert(in.CertPEM)
	if err != nil {
		return Certificate{}, err
	}
	c := Certificate{
		ID: uuid.NewString(), AccountID: p.AccountID, Version: in.Version, CertUse: UseRootCA,
		CertPEM: in.CertPEM, CN: cn, NotAfter: notAfter, TrustDesired: Trusted, Meta: dbtrust.Meta{Labels: []dbtrust.Label{}},
	}
	if err := applyFields(&c, in); err != nil {
		return Certificate{}, err
	}
	now := s.core.Now()
	c.CreatedAt, c.ModifiedAt, c.CreatedBy, c.Revision = now, now, dbtrust.UserID(p), 1
	actx, done := s.core.Audited(ctx, p, "trustcert.create", "certificate/"+c.ID)
	err = done(s.store.CreateTrustCert(actx, c))
	if err != nil {
		return Certificate{}, err
	}
	return c, nil
}

func applyFields(c *Certificate, in Input) error {
	if in.CertUse != "" {
		if in.CertUse != UseRootCA && in.CertUse != UseIntermediateCA {
			return dbtrust.FieldError("certUse", "certUse must be rootCA or intermediateCA")
		}
		c.CertUse = in.CertUse
	}
	if in.SelfSigned != nil {
		c.SelfSigned = *in.SelfSigned
	}
	if in.TrustDesired != "" {
		if in.TrustDesired != Trusted && in.TrustDesired != Untrusted {
			return dbtrust.FieldError("trustStateDesired", "trustStateDesired must be trusted or untrusted")
		}
		c.TrustDesired = in.TrustDesired
	}
	if err := dbtrust.CheckLabels(in.Labels); err != nil {
		return err
	}
	if in.Labels != nil {
		c.Labels = append([]dbtrust.Label{}, (*in.Labels)...)
	}
	return nil
}

// Get returns one certificate of p's account: an uploaded one or an
// instance's CA.
func (s *Service) Get(ctx context.Context, p dbtrust.Principal, id string) (Certificate, error) {
	if err := dbtrust.Require(p, roleRead); err != nil {
		return Certificate{}, err
	}
	if !dbtrust.ValidID(id) {
		return Certificate{}, dbtrust.Errorf(dbtrust.NotFound, "no such certificate")
	}
	c, err := s.store.GetTrustCert(ctx, p.AccountID, id)
	if dbtrust.ErrorCode(err) != dbtrust.NotFound {
		return c, err
	}
	certs, cas, err := s.instanceCAs(ctx, p)
	if err != nil {
		return Certificate{}, err
	}
	for i, c := range certs {
		if c.ID == id {
			s.core.NoteCAsRead(p, cas[i:i+1])
			return c, nil
		}
	}
	return Certificate{}, dbtrust.Errorf(dbtrust.NotFound, "no such certificate")
}

// List returns every certificate of p's account, uploaded ones and instance
// CAs, oldest first.
func (s *Service) List(ctx context.Context, p dbtrust.Principal) ([]Certificate, error) {
	if err := dbtrust.Require(p, roleRead); err != nil {
		return nil, err
	}
	list, err := s.store.ListTrustCerts(ctx, p.AccountID)
	if err != nil {
		return nil, err
	}
	certs, cas, err := s.instanceCAs(ctx, p)
	if err != nil {
		return nil, err
	}
	s.core.NoteCAsRead(p, cas)
	list = append(list, certs...)
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].CreatedAt.Equal(list[j].CreatedAt) {
			return list[i].CreatedAt.Before(list[j].CreatedAt)
		}
		return list[i].ID < list[j].ID
	})
	return list, nil
}

// instanceCAs shows the served CAs (current, next, previous) of p's
// instances as read-only certificates, so that a rotation shows up here as
// soon as it happens. The CAs come along, one for each certificate.
func (s *Service) instanceCAs(ctx context.Context, p dbtrust.Principal) ([]Certificate, []dbtrust.CA, error) {
	cas, err := s.core.ServedCAs(ctx, p)
	if err != nil || len(cas) == 0 {
		return nil, nil, err
	}
	insts, err := s.core.ListInstances(ctx, p, "")
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	for _, i := range insts {
		names[i.ID] = i.Name
	}
	out := make([]Certificate, 0, len(cas))
	for _, ca := range cas {
		cn, notAfter, err := parseCert(ca.CertPEM)
		if err != nil {
			return nil, nil, dbtrust.Wrap(dbtrust.Internal, err, "stored CA certificate does not parse")
		}
		out = append(out, Certificate{
			ID: ca.ID, AccountID: ca.AccountID, Version: "1.1", CertUse: UseRootCA, CertPEM: ca.CertPEM,
			CN: cn, NotAfter: notAfter, SelfSigned: true, TrustDesired: Trusted,
			Meta: dbtrust.Meta{
				Labels: []dbtrust.Label{
					{Name: LabelInstanceID, Value: ca.InstanceID}, {Name: LabelInstanceName, Value: names[ca.InstanceID]},
					{Name: LabelCAState, Value: string(ca.State)},
				},
				CreatedAt: ca.CreatedAt, ModifiedAt: ca.CreatedAt, CreatedBy: dbtrust.NilUserID,
			},
			InstanceID: ca.InstanceID, CAState: ca.State,
		})
	}
	return out, cas, nil
}

// Update applies the given mutable fields to one of p's uploaded
// certificates. ifRevision, when not zero, is the revision the caller read:
// if the certificate changed since, the update fails with PreconditionFailed.
func (s *Service) Update(ctx context.Context, p dbtrust.Principal, id string, in Input, ifRevision int64) (Certificate, error) {
	if err := dbtrust.Require(p, roleWrite); err != nil {
		return Certificate{}, err
	}
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return Certificate{}, err
	}
	if c.ReadOnly() {
		return Certificate{}, dbtrust.Errorf(dbtrust.Forbidden, "instance CA certificates are managed by dbtrust; rotate the instance's CA instead")
	}
	if err := dbtrust.CheckUpdate(id, in.ID, in.Version, c.Revision, ifRevision, "certificate"); err != nil {
		return Certificate{}, err
	}
	now := s.core.Now()
	if in.CertPEM != nil {
		cn, notAfter, err := parseCert(in.CertPEM)
		if err != nil {
			return Certificate{}, err
		}
		c.CertPEM, c.CN, c.NotAfter = in.CertPEM, cn, notAfter
		if in.SelfSigned == nil { // a new cert without the assertion is not self-signed
			c.SelfSigned = false
		}
	} else if in.TrustDesired != "" && in.TrustDesired != c.TrustDesired && c.TrustState(now) == Expired {
		return Certificate{}, &dbtrust.Error{Code: dbtrust.Invalid, Field: "trustStateDesired", Message: "the trust state of an expired certificate cannot change", Err: ErrExpired}
	}
	if err := applyFields(&c, in); err != nil {
		return Certificate{}, err
	}
	prev := c.Revision
	c.Version, c.ModifiedAt, c.ModifiedBy, c.Revision = in.Version, now, dbtrust.UserID(p), prev+1
	actx, done := s.core.Audited(ctx, p, "trustcert.update", "certificate/"+id)
	err = done(s.store.UpdateTrustCert(actx, c, prev))
	if err != nil {
		return Certificate{}, err
	}
	return c, nil
}

// Delete removes one of p's uploaded certificates.
func (s *Service) Delete(ctx context.Context, p dbtrust.Principal, id string) error {
	if err := dbtrust.Require(p, roleWrite); err != nil {
		return err
	}
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return err
	}
	if c.ReadOnly() {
		return dbtrust.Errorf(dbtrust.Forbidden, "instance CA certificates are managed by dbtrust; delete the instance instead")
	}
	actx, done := s.core.Audited(ctx, p, "trustcert.delete", "certificate/"+id)
	err = done(s.store.DeleteTrustCert(actx, p.AccountID, id))
	return err
}
