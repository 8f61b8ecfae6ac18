package dbtrust

import (
	"context"
	"math/big"
	"regexp"
	"time"

	"github.com/dbtrust/dbtrust/internal/pki"
)

var serialRE = regexp.MustCompile(`^[0-9a-f]{1,40}$`)

// ListIssuedCertificates returns the certificates issued for one of p's instances,
// oldest first (viewers and up).
func (s *Service) ListIssuedCertificates(ctx context.Context, p Principal, instanceID string) ([]IssuedCertificate, error) {
	if err := Require(p, RoleViewer); err != nil {
		return nil, err
	}
	instanceID, err := parseID(instanceID)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.GetInstance(ctx, p.AccountID, instanceID); err != nil {
		return nil, err
	}
	return s.store.ListIssuedCerts(ctx, p.AccountID, CertFilter{InstanceID: instanceID})
}

// GetIssuedCertificate returns one certificate issued for one of p's instances.
func (s *Service) GetIssuedCertificate(ctx context.Context, p Principal, instanceID, serial string) (IssuedCertificate, error) {
	if err := Require(p, RoleViewer); err != nil {
		return IssuedCertificate{}, err
	}
	return s.issuedCert(ctx, p.AccountID, instanceID, serial)
}

// issuedCert returns the certificate with serial, issued for the account's
// instance instanceID; any other is NotFound.
func (s *Service) issuedCert(ctx context.Context, accountID, instanceID, serial string) (IssuedCertificate, error) {
	instanceID, err := parseID(instanceID)
	if err != nil {
		return IssuedCertificate{}, err
	}
	if !serialRE.MatchString(serial) {
		return IssuedCertificate{}, Errorf(NotFound, "no such certificate")
	}
	c, err := s.store.GetIssuedCert(ctx, accountID, serial)
	if err != nil {
		return IssuedCertificate{}, err
	}
	if c.InstanceID != instanceID {
		return IssuedCertificate{}, Errorf(NotFound, "no such certificate")
	}
	return c, nil
}

// RevokeIssuedCertificate revokes a certificate issued for one of p's instances
// (members and up; the instance's node tokens only with reason superseded,
// for its endpoints, see checkNodeRevoke): its serial goes into its CA's CRL.
// reason is one of RevocationReasons' keys; "" means unspecified. Revoking
// twice is Conflict.
func (s *Service) RevokeIssuedCertificate(ctx context.Context, p Principal, instanceID, serial, reason string) (IssuedCertificate, error) {
	if err := RequireInstance(p, RoleMember, instanceID); err != nil {
		return IssuedCertificate{}, err
	}
	if reason == "" {
		reason = "unspecified"
	}
	if _, ok := RevocationReasons[reason]; !ok {
		return IssuedCertificate{}, FieldError("reason", "reason must be one of unspecified, key_compromise, ca_compromise, affiliation_changed, superseded, cessation_of_operation, privilege_withdrawn")
	}
	c, err := s.issuedCert(ctx, p.AccountID, instanceID, serial)
	if err != nil {
		return IssuedCertificate{}, err
	}
	if p.InstanceID != "" {
		inst, err := s.store.GetInstance(ctx, p.AccountID, c.InstanceID)
		if err != nil {
			return IssuedCertificate{}, err
		}
		if err := s.checkNodeRevoke(p, inst, c, reason); err != nil {
			return IssuedCertificate{}, err
		}
	}
	resource := "instance/" + instanceID + "/certificate/" + serial
	err = s.store.RevokeIssuedCert(ctx, p.AccountID, serial, s.now(), reason, s.changeEvent(p, "certificate.revoke", resource,
		s.newEvent(p.AccountID, EventCertRevoked, map[string]any{"instance_id": instanceID, "serial": serial, "reason": reason, "by": p.Subject})))
	s.afterChange(ctx, p, "certificate.revoke", resource, err)
	if err != nil {
		return IssuedCertificate{}, err
	}
	return s.store.GetIssuedCert(ctx, p.AccountID, serial)
}

// CRLURL returns the URL at which the CA's CRL is served, or "" when
// Options.CRLBaseURL is not set.
func (s *Service) CRLURL(caID string) string {
	if s.opt.CRLBaseURL == "" {
		return ""
	}
	return s.opt.CRLBaseURL + "/v1/cas/" + caID + "/crl"
}

// CRL returns the DER of the CA's certificate revocation list, signed by the
// CA's key. CRLs are public: no principal is needed, and any CA (retired ones
// included) has one. The CRL number is the count of revocations the CA has
// made so far plus one, so every replica gives the same number for the same
// list and every revocation raises it. thisUpdate is now; nextUpdate is
// Options.CRLTTL later, but never after the CA itself expires.
func (s *Service) CRL(ctx context.Context, caID string) ([]byte, error) {
	caID, err := parseID(caID)
	if err != nil {
		return nil, Errorf(NotFound, "no such CA")
	}
	ca, err := s.store.GetCA(ctx, caID)
	if err != nil {
		return nil, err
	}
	cert, key, err := s.openCA(ca)
	if err != nil {
		return nil, err
	}
	revoked, err := s.store.RevokedIssuedCerts(ctx, caID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	next := now.Add(s.opt.CRLTTL)
	if next.After(ca.NotAfter) && ca.NotAfter.After(now) {
		next = ca.NotAfter
	}
	req := pki.CRLRequest{Number: big.NewInt(int64(len(revoked) + 1)), Now: now, NextUpdate: next}
	for _, c := range revoked {
		n, ok := new(big.Int).SetString(c.Serial, 16)
		if !ok {
			return nil, Errorf(Internal, "stored serial %q is not hex", c.Serial)
		}
		req.Entries = append(req.Entries, pki.RevokedEntry{Serial: n, RevokedAt: *c.RevokedAt, ReasonCode: RevocationReasons[c.RevocationReason]})
	}
	der, err := pki.NewCRL(cert, key, req)
	if err != nil {
		return nil, Wrap(Internal, err, "CRL signing failed")
	}
	return der, nil
}

// MetricsExpiries bounds Expiries: the metrics endpoint shows the CAs and
// the certificates that expire soonest, this many of each kind, so that its
// series stay few however large the fleet (an alert on the minimum sees the
// same value).
const MetricsExpiries = 1000

// Expiries lists the served CAs and the live issued certificates that
// expire soonest (MetricsExpiries of each kind) with their expiry, across
// accounts, for the metrics endpoint. Certificates that expired more than a
// week ago are left out.
func (s *Service) Expiries(ctx context.Context) ([]Expiry, error) {
	return s.store.Expiries(ctx, ExpiryFilter{CertsAfter: s.now().Add(-7 * 24 * time.Hour), Limit: MetricsExpiries})
}

// Now returns the service's current time (its Clock), in UTC. The capability
// services beside the core (trustcert, credential, accesskey) stamp their
// records with it.
func (s *Service) Now() time.Time { return s.now() }
