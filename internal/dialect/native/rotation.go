package native

import (
	"net/http"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

func (a api) getRotation(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	st, err := a.svc.RotationStatus(r.Context(), p, r.PathValue("instance_id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromRotationStatus(st))
	return nil
}

func (a api) rotateFinish(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.ForceRequest
	if err := a.decode(w, r, &req, true); err != nil {
		return err
	}
	cas, lacking, err := a.svc.RotateFinish(r.Context(), p, r.PathValue("instance_id"), req.Force)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FinishResult{CAList: client.FromCAs(r.PathValue("instance_id"), cas), Lacking: client.FromClients(lacking)})
	return nil
}
