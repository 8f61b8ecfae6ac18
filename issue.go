package dbtrust

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dbtrust/dbtrust/internal/pki"
)

type signerKey = crypto.Signer

// IssueRequest asks for a server certificate from an instance's current CA.
// Either CSRPEM is set (the node keeps its key) or a key of KeyType is
// generated for the caller and returned once.
type IssueRequest struct {
	CommonName string
	DNSNames   []string
	IPs        []string
	CSRPEM     []byte
	KeyType    string
	TTL        time.Duration // default Options.LeafTTL; capped at the CA's expiry
	Client     bool          // allow client authentication as well
}

// IssuedCertificate is a server certificate issued from an instance's CA, as
// recorded: every issued certificate is kept, and listed, until its instance
// is deleted.
type IssuedCertificate struct {
	Serial           string // lower-case hex; unique
	Fingerprint      string // SHA-256 of the DER, lower-case hex
	CommonName       string
	DNSNames         []string
	IPs              []string
	KeyType          string // see pki.KeyType
	NotBefore        time.Time
	NotAfter         time.Time
	CertPEM          []byte
	KeyPEM           []byte // only when the key was generated here, in the issue answer; never stored
	CAPEM            []byte // the issuing CA, in the issue answer only
	CAID             string
	InstanceID       string
	AccountID        string
	CreatedAt        time.Time
	RevokedAt        *time.Time
	RevocationReason string // one of RevocationReasons' keys, when revoked
}

var dnsNameRE = regexp.MustCompile(`^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// IssueCertificate issues a server certificate for one of p's instances from
// its current CA (members and up, and the instance's node tokens for its
// endpoints; see checkNodeLeaf). The instance's CAs come from the read cache
// and the CA's opened key from the signer cache; the instance itself is
// read only when its endpoints are needed (no names asked for, or a node
// token's request).
func (s *Service) IssueCertificate(ctx context.Context, p Principal, instanceID string, req IssueRequest) (IssuedCertificate, error) {
	if err := RequireInstance(p, RoleMember, instanceID); err != nil {
		return IssuedCertificate{}, err
	}
	instanceID, err := parseID(instanceID)
	if err != nil {
		return IssuedCertificate{}, err
	}
	ca, caCert, caKey, err := s.currentCA(ctx, p.AccountID, instanceID)
	if err != nil {
		return IssuedCertificate{}, err
	}
	instance := sync.OnceValues(func() (Instance, error) { return s.store.GetInstance(ctx, p.AccountID, instanceID) })
	leaf, key, err := s.leafRequest(instance, req)
	if err != nil {
		return IssuedCertificate{}, err
	}
	if p.InstanceID != "" {
		inst, err := instance()
		if err != nil {
			return IssuedCertificate{}, err
		}
		if err := s.checkNodeLeaf(p, inst, req, leaf); err != nil {
			return IssuedCertificate{}, err // a denial: the server records it (Refused)
		}
	}
	out, err := s.signLeaf(p, ca, caCert, caKey, leaf)
	if err != nil {
		return IssuedCertificate{}, err
	}
	// The record, with its audit event in the same transaction, is kept before
	// the certificate is handed out: a certificate that was not recorded is
	// never returned. (Issuance changes nothing the read cache holds.)
	resource := "instance/" + instanceID + "/certificate/" + out.Serial
	if err := s.store.InsertIssuedCert(ctx, out, s.auditEvent(p, "certificate.issue", resource)); err != nil {
		return IssuedCertificate{}, err
	}
	out.CAPEM = ca.CertPEM
	if key != nil {
		if out.KeyPEM, err = pki.KeyPEM(key); err != nil {
			return IssuedCertificate{}, Wrap(Internal, err, "key encoding failed")
		}
	}
	return out, nil
}

// signLeaf signs leaf with the CA's key and returns the record to keep.
func (s *Service) signLeaf(p Principal, ca CA, caCert *x509.Certificate, caKey signerKey, leaf pki.LeafRequest) (IssuedCertificate, error) {
	if s.opt.CRLBaseURL != "" {
		leaf.CRLURLs = []string{s.CRLURL(ca.ID)}
	}
	der, err := pki.IssueLeaf(caCert, caKey, leaf)
	if err != nil {
		return IssuedCertificate{}, Wrap(Internal, err, "certificate signing failed")
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return IssuedCertificate{}, Wrap(Internal, err, "issued certificate does not parse")
	}
	kt, err := pki.KeyTypeOf(leaf.PublicKey)
	if err != nil {
		return IssuedCertificate{}, Wrap(Internal, err, "issued key type unknown")
	}
	out := IssuedCertificate{
		Serial: c.SerialNumber.Text(16), Fingerprint: pki.Fingerprint(der), CommonName: leaf.CommonName,
		DNSNames: leaf.DNSNames, IPs: []string{}, KeyType: string(kt), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
		CertPEM: pki.CertPEM(der), CAID: ca.ID, InstanceID: ca.InstanceID, AccountID: p.AccountID, CreatedAt: s.now(),
	}
	if out.DNSNames == nil {
		out.DNSNames = []string{}
	}
	for _, ip := range leaf.IPs {
		out.IPs = append(out.IPs, ip.String())
	}
	return out, nil
}

// leafRequest validates req into a pki.LeafRequest, generating a key when no
// CSR is given. instance is called only when no name is asked for: the
// certificate then names the instance's endpoints.
func (s *Service) leafRequest(instance func() (Instance, error), req IssueRequest) (pki.LeafRequest, crypto.Signer, error) {
	now := s.now()
	ttl := req.TTL
	if ttl == 0 {
		ttl = s.opt.LeafTTL
	} else if ttl < time.Minute {
		return pki.LeafRequest{}, nil, FieldError("ttl", "ttl must be at least one minute")
	}
	out := pki.LeafRequest{CommonName: req.CommonName, Now: now, NotAfter: now.Add(ttl), Client: req.Client}
	var key crypto.Signer
	if len(req.CSRPEM) > 0 {
		if req.KeyType != "" {
			return pki.LeafRequest{}, nil, FieldError("key_type", "key_type goes with a generated key, not with a CSR")
		}
		csr, err := pki.ParseCSRPEM(req.CSRPEM)
		if err != nil {
			return pki.LeafRequest{}, nil, csrError(err)
		}
		if _, err := pki.KeyTypeOf(csr.PublicKey); err != nil {
			return pki.LeafRequest{}, nil, FieldError("csr", "%s", err.Error())
		}
		out.PublicKey = csr.PublicKey
		if out.CommonName == "" {
			out.CommonName = csr.Subject.CommonName
		}
		if len(req.DNSNames) == 0 && len(req.IPs) == 0 {
			req.DNSNames = csr.DNSNames
			for _, ip := range csr.IPAddresses {
				req.IPs = append(req.IPs, ip.String())
			}
		}
	} else {
		kt, err := pki.ParseKeyType(req.KeyType)
		if err != nil {
			return pki.LeafRequest{}, nil, FieldError("key_type", "%s", err.Error())
		}
		if key, err = pki.GenerateKey(kt); err != nil {
			return pki.LeafRequest{}, nil, Wrap(Internal, err, "key generation failed")
		}
		out.PublicKey = key.Public()
	}
	if len(req.DNSNames)+len(req.IPs) > 100 {
		return pki.LeafRequest{}, nil, FieldError("dns_names", "at most 100 subject alternative names")
	}
	for _, n := range req.DNSNames {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if len(n) > 253 || !dnsNameRE.MatchString(n) {
			return pki.LeafRequest{}, nil, FieldError("dns_names", "%q is not a DNS name", n)
		}
		out.DNSNames = append(out.DNSNames, n)
	}
	for _, s := range req.IPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return pki.LeafRequest{}, nil, FieldError("ips", "%q is not an IP address", s)
		}
		out.IPs = append(out.IPs, ip)
	}
	if len(out.DNSNames) == 0 && len(out.IPs) == 0 {
		inst, err := instance()
		if err != nil {
			return pki.LeafRequest{}, nil, err
		}
		out.DNSNames, out.IPs = s.endpointSANs(inst)
	}
	if out.CommonName == "" {
		if len(out.DNSNames) > 0 {
			out.CommonName = out.DNSNames[0]
		} else {
			out.CommonName = out.IPs[0].String()
		}
	}
	if len(out.CommonName) > 64 {
		return pki.LeafRequest{}, nil, FieldError("common_name", "common name must be at most 64 characters")
	}
	return out, key, nil
}

// csrError says in plain words why a CSR was refused; the parser's own text
// (ASN.1 details) stays in Err, for the log.
func csrError(err error) error {
	msg := "csr must be a PEM CERTIFICATE REQUEST block (openssl req -new writes one)"
	switch {
	case errors.Is(err, pki.ErrCSRMalformed):
		msg = "the certificate request is not a valid PKCS #10 request; create it again with openssl req -new or your tool's equivalent"
	case errors.Is(err, pki.ErrCSRSignature):
		msg = "the certificate request's signature does not verify: it was altered, or not signed with its own key"
	}
	return &Error{Code: Invalid, Field: "csr", Message: msg, Err: err}
}
