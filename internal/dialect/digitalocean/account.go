package digitalocean

import (
	"net/http"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// account is the spec's account object. dbtrust accounts have no e-mail
// address and offer no Droplets or floating IPs: those fields say so.
type account struct {
	DropletLimit    int    `json:"droplet_limit"`
	FloatingIPLimit int    `json:"floating_ip_limit"`
	Email           string `json:"email"`
	Name            string `json:"name"`
	UUID            string `json:"uuid"`
	EmailVerified   bool   `json:"email_verified"`
	Status          string `json:"status"`
	StatusMessage   string `json:"status_message"`
}

// getAccount answers doctl account get (GET /v2/account) with the token's account.
func (a api) getAccount(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	acct, err := a.svc.AccountOf(r.Context(), p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, map[string]account{"account": {
		Name: acct.Name, UUID: acct.ID, Status: "active", StatusMessage: "",
	}})
	return nil
}

// projectUUID writes an account's project ID (32 hex digits, the Huawei
// form) as the UUID DigitalOcean uses for project IDs: the same 128 bits.
func projectUUID(projectID string) string {
	if len(projectID) != 32 {
		return projectID
	}
	return projectID[:8] + "-" + projectID[8:12] + "-" + projectID[12:16] + "-" + projectID[16:20] + "-" + projectID[20:]
}

// tokenInfo answers GET /v1/oauth/token/info, which doctl auth init calls on
// its --token-validation-server to check a token before saving it.
func (a api) tokenInfo(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	type application struct {
		UID string `json:"uid"`
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, struct {
		ResourceOwnerID  int         `json:"resource_owner_id"`
		Scopes           []string    `json:"scopes"`
		ExpiresInSeconds int         `json:"expires_in_seconds"`
		Application      application `json:"application"`
		CreatedAt        int         `json:"created_at"`
	}{Scopes: scopes(p.Role), Application: application{}})
	return nil
}

// scopes are the DigitalOcean scopes that match what a role may do here.
func scopes(r dbtrust.Role) []string {
	s := []string{"account:read", "database:read"}
	if r.AtLeast(dbtrust.RoleMember) {
		s = append(s, "database:create", "database:update", "database:delete")
	}
	return s
}

// engineOptions is one engine's entry of GET /v2/databases/options.
type engineOptions struct {
	Regions  []string `json:"regions"`
	Versions []string `json:"versions"`
	Layouts  []layout `json:"layouts"`
}

type layout struct {
	NumNodes int      `json:"num_nodes"`
	Sizes    []string `json:"sizes"`
}

// options lists the engines dbtrust keeps CAs for, each with its default
// version, the default region and size, and the node counts it accepts (1
// to 16). dbtrust accepts any region or size slug; it lists its defaults.
func (a api) options(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	if _, err := a.svc.AccountOf(r.Context(), p); err != nil {
		return err
	}
	layouts := make([]layout, 0, dbtrust.MaxNodes)
	for n := 1; n <= dbtrust.MaxNodes; n++ {
		layouts = append(layouts, layout{NumNodes: n, Sizes: []string{dbtrust.DefaultSize}})
	}
	out := map[string]engineOptions{}
	for e, eng := range dbtrust.Engines {
		out[string(e)] = engineOptions{Regions: []string{dbtrust.DefaultRegion}, Versions: []string{eng.DefaultVersion}, Layouts: layouts}
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, map[string]map[string]engineOptions{"options": out})
	return nil
}
