package dbtrust

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Endpoint is one host:port where an instance's clients connect: a node, the
// primary, a replica. An instance's endpoints are the default subject
// alternative names of its certificates and the host of its recipes.
type Endpoint struct {
	Host string // a DNS name (lower case) or an IP address
	Port int    // 1-65535
	Role string // optional: primary, replica, a node name
}

// Address returns host:port, with an IPv6 host in brackets.
func (e Endpoint) Address() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// String returns the endpoint as ParseEndpoint reads it.
func (e Endpoint) String() string {
	if e.Role == "" {
		return e.Address()
	}
	return e.Address() + ",role=" + e.Role
}

// IP returns the host as an IP address, or nil when it is a DNS name.
func (e Endpoint) IP() net.IP { return net.ParseIP(e.Host) }

// MaxEndpoints is the most endpoints an instance may have.
const MaxEndpoints = 32

var endpointRoleRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ParseEndpoint reads "host:port" or "host:port,role=NAME" (an IPv6 host in
// brackets: "[2001:db8::1]:5432") and validates it as CheckEndpoints does.
func ParseEndpoint(s string) (Endpoint, error) {
	addr, role, hasRole := strings.Cut(s, ",")
	if hasRole {
		r, ok := strings.CutPrefix(role, "role=")
		if !ok {
			return Endpoint{}, FieldError("endpoints", "endpoint %q: write host:port or host:port,role=NAME", s)
		}
		role = r
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Endpoint{}, FieldError("endpoints", "endpoint %q: write host:port (an IPv6 host in brackets, [2001:db8::1]:5432)", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return Endpoint{}, FieldError("endpoints", "endpoint %q: the port must be a number from 1 to 65535", s)
	}
	eps, err := CheckEndpoints([]Endpoint{{Host: host, Port: n, Role: role}})
	if err != nil {
		return Endpoint{}, err
	}
	return eps[0], nil
}

// CheckEndpoints validates eps and returns them normalised (DNS names in
// lower case without a trailing dot, IP addresses in their canonical form).
// Every problem is an Invalid error on the field "endpoints".
func CheckEndpoints(eps []Endpoint) ([]Endpoint, error) {
	if len(eps) > MaxEndpoints {
		return nil, FieldError("endpoints", "at most %d endpoints", MaxEndpoints)
	}
	out := make([]Endpoint, 0, len(eps))
	seen := map[string]bool{}
	for _, e := range eps {
		host, err := endpointHost(e.Host)
		if err != nil {
			return nil, err
		}
		if e.Port < 1 || e.Port > 65535 {
			return nil, FieldError("endpoints", "endpoint %s: the port must be a number from 1 to 65535", host)
		}
		if e.Role != "" && !endpointRoleRE.MatchString(e.Role) {
			return nil, FieldError("endpoints", "endpoint %s: the role must be 1-63 characters of a-z, 0-9, '.', '_' or '-' (primary, replica, a node name)", host)
		}
		e.Host = host
		if seen[e.Address()] {
			return nil, FieldError("endpoints", "endpoint %s is listed twice", e.Address())
		}
		seen[e.Address()] = true
		out = append(out, e)
	}
	return out, nil
}

// endpointHost returns host normalised, or an Invalid error when it is
// neither an IP address nor a DNS name (wildcards are not hosts, and a name
// whose last label is all digits, such as 300.1.1.1, is a mistyped address).
func endpointHost(host string) (string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" {
		return "", FieldError("endpoints", "an endpoint needs a host: write host:port")
	}
	last := h[strings.LastIndex(h, ".")+1:]
	if len(h) > 253 || strings.HasPrefix(h, "*.") || !dnsNameRE.MatchString(h) || strings.Trim(last, "0123456789") == "" {
		return "", FieldError("endpoints", "endpoint host %q is neither a DNS name nor an IP address", host)
	}
	return h, nil
}

// InstanceEndpoints returns where inst's clients connect: the endpoints it
// was given, or, when it has none, one made-up endpoint (the instance's
// generated DNS name and its engine's default port).
func (s *Service) InstanceEndpoints(inst Instance) []Endpoint {
	if len(inst.Endpoints) > 0 {
		return inst.Endpoints
	}
	return []Endpoint{{Host: inst.Name + "-" + inst.ID[:8] + "." + s.opt.DBDomain, Port: Engines[inst.Engine].Port}}
}

// InstanceEndpoint returns the endpoint clients of inst connect to first
// (see PrimaryEndpoint).
func (s *Service) InstanceEndpoint(inst Instance) Endpoint {
	return PrimaryEndpoint(s.InstanceEndpoints(inst))
}

// PrimaryEndpoint returns the first endpoint with the role "primary", else
// the first of all; the zero Endpoint when eps is empty.
func PrimaryEndpoint(eps []Endpoint) Endpoint {
	for _, e := range eps {
		if e.Role == "primary" {
			return e
		}
	}
	if len(eps) == 0 {
		return Endpoint{}
	}
	return eps[0]
}

// InstancePrivateEndpoint returns the endpoint for clients inside the
// instance's private network: the first endpoint with the role "private";
// without one, the primary endpoint of an instance that was given endpoints,
// and a generated private-<host> for one that was not.
func (s *Service) InstancePrivateEndpoint(inst Instance) Endpoint {
	for _, e := range inst.Endpoints {
		if e.Role == "private" {
			return e
		}
	}
	ep := s.InstanceEndpoint(inst)
	if len(inst.Endpoints) == 0 {
		ep.Host = "private-" + ep.Host
	}
	return ep
}

// InstanceHost returns the host clients of inst connect to first.
func (s *Service) InstanceHost(inst Instance) string { return s.InstanceEndpoint(inst).Host }

// endpointSANs returns the DNS names and IP addresses of inst's endpoints,
// each once, in endpoint order.
func (s *Service) endpointSANs(inst Instance) (dns []string, ips []net.IP) {
	seen := map[string]bool{}
	for _, e := range s.InstanceEndpoints(inst) {
		if seen[e.Host] {
			continue
		}
		seen[e.Host] = true
		if ip := e.IP(); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, e.Host)
		}
	}
	return dns, ips
}

// InstanceUpdate is a change to an instance; nil fields stay as they are.
type InstanceUpdate struct {
	// Endpoints replaces the instance's endpoints; an empty list brings back
	// the generated default.
	Endpoints *[]Endpoint
}

// UpdateInstance changes one of p's instances (members and up) and returns it
// as it now is. Certificates already issued keep their names; the next ones
// take the new endpoints.
func (s *Service) UpdateInstance(ctx context.Context, p Principal, id string, u InstanceUpdate) (Instance, error) {
	if err := Require(p, RoleMember); err != nil {
		return Instance{}, err
	}
	id, err := parseID(id)
	if err != nil {
		return Instance{}, err
	}
	if u.Endpoints != nil {
		eps, err := CheckEndpoints(*u.Endpoints)
		if err != nil {
			return Instance{}, err
		}
		actx, done := s.Audited(ctx, p, "instance.update", "instance/"+id)
		err = done(s.store.UpdateInstanceEndpoints(actx, p.AccountID, id, eps))
		if err != nil {
			return Instance{}, err
		}
	}
	return s.store.GetInstance(ctx, p.AccountID, id)
}
