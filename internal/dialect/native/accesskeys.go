package native

import (
	"context"
	"net/http"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// accessKeys are the signed AK/SK pairs (accesskey.Service), which hold
// their own rules: admins only, no key above the caller's role, another
// account's key not found.
type accessKeys interface {
	Create(ctx context.Context, p dbtrust.Principal, name string, role dbtrust.Role) (accesskey.Key, string, error)
	List(ctx context.Context, p dbtrust.Principal) ([]accesskey.Key, error)
	Revoke(ctx context.Context, p dbtrust.Principal, id string) error
}

// project returns the project ID of p's account, which a Huawei-style
// client signs with beside the AK.
func (a api) project(ctx context.Context, p dbtrust.Principal) (string, error) {
	acct, err := a.svc.AccountOf(ctx, p)
	return acct.ProjectID, err
}

func (a api) createAccessKey(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.CreateAccessKeyRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	role, err := dbtrust.ParseRole(req.Role)
	if err != nil {
		return err
	}
	// The project first: once the key exists, its SK must reach the caller.
	project, err := a.project(r.Context(), p)
	if err != nil {
		return err
	}
	k, sk, err := a.keys.Create(r.Context(), p, req.Name, role)
	if err != nil {
		return err
	}
	out := client.FromAccessKey(k, project)
	out.SecretKey = sk
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, jsonType, out)
	return nil
}

func (a api) listAccessKeys(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	list, err := a.keys.List(r.Context(), p)
	if err != nil {
		return err
	}
	project, err := a.project(r.Context(), p)
	if err != nil {
		return err
	}
	out := client.AccessKeyList{AccessKeys: []client.AccessKey{}}
	for _, k := range list {
		out.AccessKeys = append(out.AccessKeys, client.FromAccessKey(k, project))
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, out)
	return nil
}

func (a api) revokeAccessKey(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	if err := a.keys.Revoke(r.Context(), p, r.PathValue("access_key_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
