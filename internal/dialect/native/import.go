package native

import (
	"net/http"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// importBodyLimit bounds the body of an import: dbtrust.MaxImport specs
// with room for tags and endpoints.
const importBodyLimit = 16 << 20

// importInstances creates the instances of a JSON array of the bodies POST
// /v1/instances takes, all or nothing (dbtrust.Service.ImportInstances).
func (a api) importInstances(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var reqs []client.CreateInstanceRequest
	opt := httpx.DecodeOptions{Limit: max(a.cfg.MaxBody, importBodyLimit), Strict: true}
	if err := httpx.DecodeJSON(w, r, &reqs, opt); err != nil {
		return err
	}
	specs := make([]dbtrust.InstanceSpec, len(reqs))
	for i, req := range reqs {
		specs[i] = req.Spec()
	}
	insts, err := a.svc.ImportInstances(r.Context(), p, specs)
	if err != nil {
		return err
	}
	out := client.InstanceList{Instances: make([]client.Instance, len(insts))}
	for i, inst := range insts {
		out.Instances[i] = client.FromInstance(inst, a.svc.InstanceEndpoints(inst))
	}
	httpx.WriteJSON(w, http.StatusCreated, jsonType, out)
	return nil
}
