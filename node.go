package dbtrust

import (
	"context"
	"hash/maphash"
	"net"
	"slices"
	"sync/atomic"

	"github.com/dbtrust/dbtrust/internal/pki"
)

// RoleNode is the role of a node token's Principal: a credential for the
// agent beside one database node. It ranks below every other role, so that
// require refuses it everything; what it may do is granted by scope (see
// RequireInstance): read its one instance, its CAs and bundle, have
// certificates issued from a CSR for that instance's endpoints, and revoke
// those it replaced (checkNodeRevoke).
const RoleNode Role = "node"

// errNodeScope is what a node token is told when it tries anything else.
var errNodeScope = Errorf(Forbidden, "a node token may only read its own instance's CA bundle and have certificates issued for that instance's endpoints (and revoke, as superseded, those it replaced); use an account token for anything else")

// PrincipalRole returns the role t's Principal acts with: RoleNode for a
// node token, else the token's role.
func (t Token) PrincipalRole() Role {
	if t.InstanceID != "" {
		return RoleNode
	}
	return t.Role
}

// Principal returns the Principal t acts as.
func (t Token) Principal() Principal {
	return Principal{AccountID: t.AccountID, Role: t.PrincipalRole(), Subject: tokenSubjects.subject(t.ID), InstanceID: t.InstanceID, Name: t.Name}
}

// tokenSubjects remembers the subjects ("token:" + ID) of recently seen
// token IDs, so that authenticating the same token again builds no string.
var tokenSubjects subjectTable

// subjectTable is a fixed-size, lock-free table of token subjects, indexed
// by a hash of the ID: a slot holds the last subject that hashed to it, and
// a subject is only ever derived from its ID, so a stale or overwritten slot
// costs one allocation and never a wrong answer. It holds at most 1024
// short strings, however many tokens there are.
type subjectTable struct {
	slots [1024]atomic.Pointer[string]
}

func (t *subjectTable) subject(id string) string {
	const prefix = "token:"
	slot := &t.slots[maphash.String(subjectSeed, id)%uint64(len(t.slots))]
	if s := slot.Load(); s != nil && (*s)[len(prefix):] == id {
		return *s
	}
	s := prefix + id
	slot.Store(&s)
	return s
}

var subjectSeed = maphash.MakeSeed()

// RequireInstance is Require for a call about one instance: a node token may
// make it (whatever min is) for its own instance, and reads any other
// instance as one that does not exist.
func RequireInstance(p Principal, min Role, instanceID string) error {
	if p.InstanceID == "" {
		return Require(p, min)
	}
	if p.AccountID == "" || p.InstanceID != instanceID {
		return Errorf(NotFound, "no such instance")
	}
	return nil
}

// CreateNodeToken makes a node token for one of p's instances (admins only):
// a token for the agent on that instance's nodes, scoped to it alone. The
// full token string is returned once. It is revoked like any token, and goes
// when its instance is deleted.
func (s *Service) CreateNodeToken(ctx context.Context, p Principal, instanceID, name string) (Token, string, error) {
	if err := Require(p, RoleAdmin); err != nil {
		return Token{}, "", err
	}
	instanceID, err := parseID(instanceID)
	if err != nil {
		return Token{}, "", err
	}
	if !ValidName(name) {
		return Token{}, "", FieldError("name", "token name must be 1-100 printable characters")
	}
	if _, err := s.store.GetInstance(ctx, p.AccountID, instanceID); err != nil {
		return Token{}, "", err
	}
	// Stored with the least role, which it never acts with (PrincipalRole).
	t, full, err := s.newToken(p.AccountID, name, RoleViewer)
	if err != nil {
		return Token{}, "", err
	}
	t.InstanceID = instanceID
	actx, done := s.Audited(ctx, p, "token.create", "instance/"+instanceID+"/token/"+t.ID)
	err = done(Taken(s.store.CreateToken(actx, t), "a token named %q already exists in this account: pick another name", name))
	if err != nil {
		return Token{}, "", err
	}
	return t, full, nil
}

// checkNodeLeaf holds a node token's certificate request to its scope: it
// must bring a CSR (its key stays on the node) and may only name its
// instance's endpoints, in its subject alternative names and common name.
func (s *Service) checkNodeLeaf(p Principal, inst Instance, req IssueRequest, leaf pki.LeafRequest) error {
	if p.InstanceID == "" {
		return nil
	}
	if len(req.CSRPEM) == 0 {
		return Errorf(Forbidden, "a node token must send a CSR: the node makes its own key")
	}
	ips := make([]string, len(leaf.IPs))
	for i, ip := range leaf.IPs {
		ips[i] = ip.String()
	}
	if n := s.outsideEndpoints(inst, leaf.CommonName, leaf.DNSNames, ips); n != "" {
		return Errorf(Forbidden, "%s is not an endpoint of this instance: a node token may only get certificates for its instance's endpoints", n)
	}
	return nil
}

// checkNodeRevoke holds a node token's revocation to its scope: only with
// reason superseded (the agent revokes the certificate it replaced), and
// only a certificate that names nothing but its instance's endpoints, as
// those issued to its nodes do.
func (s *Service) checkNodeRevoke(p Principal, inst Instance, c IssuedCertificate, reason string) error {
	if p.InstanceID == "" {
		return nil
	}
	if reason != "superseded" {
		return Errorf(Forbidden, "a node token may only revoke a certificate its node replaced, with reason superseded; use an account token for any other revocation")
	}
	if n := s.outsideEndpoints(inst, c.CommonName, c.DNSNames, c.IPs); n != "" {
		return Errorf(Forbidden, "the certificate names %s, which is not an endpoint of this instance: a node token may only revoke certificates for its instance's endpoints", n)
	}
	return nil
}

// outsideEndpoints returns the first of a certificate's names (common name,
// DNS names, IP addresses) that is not one of inst's endpoints, or "" when
// there is none. The common name may be an endpoint's host or address.
func (s *Service) outsideEndpoints(inst Instance, commonName string, dnsNames, ips []string) string {
	okDNS, okIPs := s.endpointSANs(inst)
	for _, ip := range okIPs {
		okDNS = append(okDNS, ip.String())
	}
	for _, n := range append([]string{commonName}, dnsNames...) {
		if !slices.Contains(okDNS, n) {
			return n
		}
	}
	for _, ip := range ips {
		parsed := net.ParseIP(ip)
		if parsed == nil || !slices.ContainsFunc(okIPs, parsed.Equal) {
			return ip
		}
	}
	return ""
}
