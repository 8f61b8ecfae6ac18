package native

import (
	"net/http"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// RotationClient is one principal that fetched an instance's bundle.
type RotationClient struct {
	Subject      string   `json:"subject"`
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	Via          string   `json:"via"`
	LastFetch    string   `json:"last_fetch"`
	Fetches      int64    `json:"fetches"`
	Fingerprints []string `json:"fingerprints_sha256"`
	HoldsNext    bool     `json:"holds_next"`
}

// RotationStatus is the answer of GET /v1/instances/{id}/rotation.
type RotationStatus struct {
	InstanceID   string           `json:"instance_id"`
	Stage        string           `json:"stage"`
	NewCAID      string           `json:"new_ca_id"`
	NewCASHA256  string           `json:"new_ca_fingerprint_sha256"`
	CAs          []CA             `json:"cas"`
	Clients      []RotationClient `json:"clients"`
	HoldingCount int              `json:"holding"`
	LackingCount int              `json:"lacking"`
}

// FromClients returns the wire form of rotation clients.
func FromClients(cs []dbtrust.Client) []RotationClient {
	out := []RotationClient{}
	for _, c := range cs {
		out = append(out, RotationClient{Subject: c.Subject, Name: c.Name, Kind: c.Kind, Via: c.Via, LastFetch: ts(c.FetchedAt),
			Fetches: c.Fetches, Fingerprints: orEmpty(c.Fingerprints), HoldsNext: c.HoldsNext})
	}
	return out
}

// FromRotationStatus returns the wire form of st.
func FromRotationStatus(st dbtrust.RotationStatus) RotationStatus {
	out := RotationStatus{InstanceID: st.InstanceID, Stage: string(st.Stage), NewCAID: st.NewCA.ID, NewCASHA256: st.NewCA.Fingerprint,
		CAs: []CA{}, Clients: FromClients(st.Clients), HoldingCount: st.Holding, LackingCount: st.Lacking}
	for _, state := range []dbtrust.CAState{dbtrust.CACurrent, dbtrust.CANext, dbtrust.CAPrevious} {
		if ca, ok := st.CAs[state]; ok {
			out.CAs = append(out.CAs, FromCA(ca))
		}
	}
	return out
}

func (a api) getRotation(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	st, err := a.svc.RotationStatus(r.Context(), p, r.PathValue("instance_id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, FromRotationStatus(st))
	return nil
}

// FinishResult is the answer of a rotation finish: the CAs, and the clients
// whose last bundle lacked the CA that is now current.
type FinishResult struct {
	CAList
	Lacking []RotationClient `json:"lacking"`
}

func (a api) rotateFinish(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req forceRequest
	if err := a.decode(w, r, &req, true); err != nil {
		return err
	}
	cas, lacking, err := a.svc.RotateFinish(r.Context(), p, r.PathValue("instance_id"), req.Force)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, FinishResult{CAList: FromCAs(r.PathValue("instance_id"), cas), Lacking: FromClients(lacking)})
	return nil
}
