package clustersettings

import (
	"context"
	"net"
	"slices"
	"strings"

	"github.com/dbtrust/dbtrust"
	"github.com/google/uuid"
)

// Service names are the custom DNS names (CNAMEs) clients may use to reach a
// cluster, DigitalOcean's do_settings.service_cnames. They are endpoints of
// the instance with the role ServiceNameRole, on the primary endpoint's port,
// so that they are subject alternative names of every certificate issued for
// the instance from then on, like its other endpoints.

// ServiceNameRole is the endpoint role that marks a service name.
const ServiceNameRole = "cname"

// MaxServiceNames is the most service names a cluster may have (DigitalOcean's
// limit).
const MaxServiceNames = 16

// ServiceNames returns inst's service names, in the order they were set.
func ServiceNames(inst dbtrust.Instance) []string {
	names := []string{}
	for _, e := range inst.Endpoints {
		if e.Role == ServiceNameRole {
			names = append(names, e.Host)
		}
	}
	return names
}

// SetServiceNames makes names the cluster's service names (members), in
// place of those it had; an empty list removes them. The instance's other
// endpoints stay as they are; an instance that had none keeps the generated
// ones it showed (its primary and private hosts), now as endpoints of its
// own, so that its connection details do not change.
func (s *Service) SetServiceNames(ctx context.Context, p dbtrust.Principal, instanceID string, names []string) (dbtrust.Instance, error) {
	if err := dbtrust.Authorize(p, dbtrust.ActionSetClusterSettings); err != nil {
		return dbtrust.Instance{}, err
	}
	inst, err := s.core.GetInstance(ctx, p, instanceID)
	if err != nil {
		return dbtrust.Instance{}, err
	}
	eps, err := s.withServiceNames(inst, names)
	if err != nil {
		return dbtrust.Instance{}, err
	}
	return s.core.UpdateInstance(ctx, p, inst.ID, dbtrust.InstanceUpdate{Endpoints: &eps})
}

// CreateWithServiceNames creates an instance (members) whose service names
// are names, in one step: it is created with them, or not at all. Without
// names it is the core's CreateInstance.
func (s *Service) CreateWithServiceNames(ctx context.Context, p dbtrust.Principal, spec dbtrust.InstanceSpec, names []string) (dbtrust.Instance, error) {
	if _, known := dbtrust.Engines[dbtrust.Engine(spec.Engine)]; len(names) == 0 || !known {
		return s.core.CreateInstance(ctx, p, spec) // an unknown engine is refused there
	}
	if spec.ID == "" {
		spec.ID = uuid.NewString()
	}
	eps, err := s.withServiceNames(dbtrust.Instance{ID: spec.ID, Name: spec.Name, Engine: dbtrust.Engine(spec.Engine), Endpoints: spec.Endpoints}, names)
	if err != nil {
		return dbtrust.Instance{}, err
	}
	spec.Endpoints = eps
	return s.core.CreateInstance(ctx, p, spec)
}

// withServiceNames returns inst's endpoints with names as its service names
// in place of those it had (see SetServiceNames).
func (s *Service) withServiceNames(inst dbtrust.Instance, names []string) ([]dbtrust.Endpoint, error) {
	if len(names) > MaxServiceNames {
		return nil, dbtrust.FieldError("service_cnames", "at most %d service names", MaxServiceNames)
	}
	var eps []dbtrust.Endpoint
	if len(inst.Endpoints) == 0 {
		primary, private := s.core.InstanceEndpoint(inst), s.core.InstancePrivateEndpoint(inst)
		primary.Role, private.Role = "primary", "private"
		eps = []dbtrust.Endpoint{primary, private}
	}
	for _, e := range inst.Endpoints {
		if e.Role != ServiceNameRole {
			eps = append(eps, e)
		}
	}
	port := dbtrust.PrimaryEndpoint(eps).Port
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if net.ParseIP(n) != nil || !strings.Contains(n, ".") || strings.HasPrefix(n, "*") {
			return nil, dbtrust.FieldError("service_cnames", "%q is not a DNS name such as db.example.com", n)
		}
		if slices.ContainsFunc(eps, func(e dbtrust.Endpoint) bool { return e.Host == n }) {
			return nil, dbtrust.FieldError("service_cnames", "%s is listed twice, or is already a host of the cluster", n)
		}
		eps = append(eps, dbtrust.Endpoint{Host: n, Port: port, Role: ServiceNameRole})
	}
	if _, err := dbtrust.CheckEndpoints(eps); err != nil {
		return nil, dbtrust.FieldError("service_cnames", "%s", dbtrust.ErrorMessage(err))
	}
	return eps, nil
}
