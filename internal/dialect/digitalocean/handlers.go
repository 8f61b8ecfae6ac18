package digitalocean

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/clustersettings"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

const contentType = "application/json; charset=utf-8"

var contentTypeValue = []string{contentType}

type api struct {
	svc      service
	settings settingsService
	cfg      Config
	hdr      *headerValues
}

// headerValues remember the header values that seldom change between
// answers, formatted once.
type headerValues struct {
	limit, reset, caLength httpx.NumberHeader
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error

// wrap authenticates the bearer token, applies the rate limit and sets the
// headers DigitalOcean sends on every response, then runs h and writes its
// error, if any, in DigitalOcean's shape.
func (a api) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := httpx.Bearer(r)
		p, err := a.svc.Authenticate(r.Context(), token)
		d, err := httpx.Admit(w, r, a.cfg.Limits, p, err)
		hdr := w.Header() // keys already in canonical form: no per-request canonicalisation
		hdr["Ratelimit-Limit"] = a.hdr.limit.Value(int64(d.Limit))
		hdr["Ratelimit-Remaining"] = httpx.RequestNumber(r, int64(d.Remaining))
		hdr["Ratelimit-Reset"] = a.hdr.reset.Value(d.Reset.Unix())
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := h(w, r, p); err != nil {
			if dbtrust.ErrorCode(err) == dbtrust.Internal || dbtrust.ErrorCode(err) == dbtrust.Unavailable {
				a.cfg.Log.Error("digitalocean request failed", "request_id", httpx.RequestID(r), "path", r.URL.Path, "err", err)
			}
			writeError(w, r, err)
		}
	})
}
func (a api) notFound(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	return dbtrust.Errorf(dbtrust.NotFound, "not found")
}

// createRequest is what godo and doctl send. godo always sends
// private_network_uuid and project_id (as "") and rules (as null): they are
// accepted and ignored, as are fields dbtrust does not model.
type createRequest struct {
	Name     *string  `json:"name"`
	Engine   *string  `json:"engine"`
	Version  string   `json:"version"`
	Size     *string  `json:"size"`
	Region   *string  `json:"region"`
	NumNodes *int     `json:"num_nodes"`
	Tags     []string `json:"tags"`
	// DOSettings' custom host names become endpoints of the new instance.
	DOSettings *doSettings `json:"do_settings"`
}

func (a api) createCluster(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req createRequest
	if err := httpx.DecodeJSON(w, r, &req, httpx.DecodeOptions{Limit: a.cfg.MaxBody}); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		ok   bool
	}{{"name", req.Name != nil}, {"engine", req.Engine != nil}, {"num_nodes", req.NumNodes != nil}, {"size", req.Size != nil}, {"region", req.Region != nil}} {
		if !f.ok {
			return dbtrust.FieldError(f.name, "%s is required", f.name)
		}
	}
	if *req.Region == "" || *req.Size == "" {
		return dbtrust.FieldError("region", "size and region must not be empty")
	}
	if *req.NumNodes < 1 {
		return dbtrust.FieldError("num_nodes", "num_nodes must be at least 1")
	}
	var names []string
	if req.DOSettings != nil {
		names = req.DOSettings.ServiceCnames
	}
	inst, err := a.settings.CreateWithServiceNames(r.Context(), p, dbtrust.InstanceSpec{
		Name: *req.Name, Engine: *req.Engine, Version: req.Version, Size: *req.Size, Region: *req.Region,
		NumNodes: *req.NumNodes, Tags: req.Tags,
	}, names)
	if err != nil {
		return err
	}
	c, err := a.clusters(r, p, inst)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, contentType, map[string]cluster{"database": c[0]})
	return nil
}

func (a api) listClusters(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	list, err := a.svc.ListInstances(r.Context(), p, r.URL.Query().Get("tag_name"))
	if err != nil {
		return err
	}
	out, err := a.clusters(r, p, list...)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, map[string][]cluster{"databases": out})
	return nil
}

func (a api) getCluster(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	inst, err := a.svc.GetInstance(r.Context(), p, r.PathValue("database_cluster_uuid"))
	if err != nil {
		return err
	}
	c, err := a.clusters(r, p, inst)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, map[string]cluster{"database": c[0]})
	return nil
}

func (a api) deleteCluster(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	if err := a.svc.DeleteInstance(r.Context(), p, r.PathValue("database_cluster_uuid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// caBody is getCA's answer, {"ca":{"certificate":"<standard, padded base64
// of the PEM>"}}, exactly what godo's []byte field decodes. It is written by
// hand, once per bundle: this is the hottest path of the dialect and its
// shape is fixed.
var caBody = dbtrust.NewBundleForm(func(bundle []byte) []byte {
	const head, tail = `{"ca":{"certificate":"`, `"}}`
	body := make([]byte, 0, len(head)+base64.StdEncoding.EncodedLen(len(bundle))+len(tail))
	body = append(body, head...)
	body = base64.StdEncoding.AppendEncode(body, bundle)
	return append(body, tail...)
})

func (a api) getCA(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	id := r.PathValue("database_cluster_uuid")
	if id == "" { // routed by hotCA, not the mux
		id, _ = hotCAID(r.URL.Path)
	}
	body, err := a.svc.InstanceCABundleIn(r.Context(), p, id, caBody)
	if err != nil {
		return err
	}
	h := w.Header()
	h["Content-Type"] = contentTypeValue
	h["Content-Length"] = a.hdr.caLength.Value(int64(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

// cluster is DigitalOcean's Database object (the spec's database_cluster),
// with every field real DigitalOcean always sends, each with what dbtrust
// knows to be true: no private network (""), no added storage (0), no
// metrics endpoints, no pending maintenance.
type cluster struct {
	ID                 string            `json:"id"`
	Name               string            `json:"name"`
	Engine             string            `json:"engine"`
	Version            string            `json:"version"`
	NumNodes           int               `json:"num_nodes"`
	Size               string            `json:"size"`
	Region             string            `json:"region"`
	Status             string            `json:"status"`
	CreatedAt          string            `json:"created_at"`
	Connection         connection        `json:"connection"`
	PrivateConnection  connection        `json:"private_connection"`
	UIConnection       connection        `json:"ui_connection"`
	Users              []user            `json:"users"`
	DBNames            []string          `json:"db_names"`
	Tags               []string          `json:"tags"`
	PrivateNetworkUUID string            `json:"private_network_uuid"`
	ProjectID          string            `json:"project_id"`
	MaintenanceWindow  maintenanceWindow `json:"maintenance_window"`
	StorageSizeMiB     int               `json:"storage_size_mib"`
	StorageAutoscale   storageAutoscale  `json:"storage_autoscale"`
	MetricsEndpoints   []struct{}        `json:"metrics_endpoints"`
	DOSettings         doSettings        `json:"do_settings"`
}

type connection struct {
	Protocol string `json:"protocol,omitempty"`
	URI      string `json:"uri"`
	Database string `json:"database"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	SSL      bool   `json:"ssl"`
}

// engineConn gives each engine's protocol, default user and database.
var engineConn = map[dbtrust.Engine]struct{ protocol, user, database, uriFmt string }{
	dbtrust.EnginePostgres:   {"postgresql", "doadmin", "defaultdb", "postgresql://%[1]s@%[2]s:%[3]d/%[4]s?sslmode=verify-full"},
	dbtrust.EngineMySQL:      {"mysql", "doadmin", "defaultdb", "mysql://%[1]s@%[2]s:%[3]d/%[4]s?ssl-mode=VERIFY_IDENTITY"},
	dbtrust.EngineRedis:      {"rediss", "default", "", "rediss://%[1]s@%[2]s:%[3]d"},
	dbtrust.EngineValkey:     {"rediss", "default", "", "rediss://%[1]s@%[2]s:%[3]d"},
	dbtrust.EngineMongoDB:    {"mongodb+srv", "doadmin", "admin", "mongodb+srv://%[1]s@%[2]s/%[4]s?tls=true&authSource=admin"},
	dbtrust.EngineKafka:      {"kafka", "doadmin", "", "kafka://%[1]s@%[2]s:%[3]d"},
	dbtrust.EngineOpenSearch: {"https", "doadmin", "", "https://%[1]s@%[2]s:%[3]d"},
}

// cluster writes inst as DigitalOcean's Database object; projectID is its
// account's project, st its settings.
func (a api) cluster(inst dbtrust.Instance, projectID string, st clustersettings.Settings) cluster {
	ec := engineConn[inst.Engine]
	conn := func(e dbtrust.Endpoint) connection {
		h := e.Host
		if e.IP().To4() == nil && e.IP() != nil {
			h = "[" + h + "]" // an IPv6 host in a URI
		}
		return connection{Protocol: ec.protocol, URI: fmt.Sprintf(ec.uriFmt, ec.user, h, e.Port, ec.database),
			Database: ec.database, Host: e.Host, Port: e.Port, User: ec.user, SSL: inst.TLS}
	}
	c := cluster{
		ID: inst.ID, Name: inst.Name, Engine: string(inst.Engine), Version: inst.Version, NumNodes: inst.NumNodes,
		Size: inst.Size, Region: inst.Region, Status: inst.Status, CreatedAt: inst.CreatedAt.Format(time.RFC3339),
		Connection: conn(a.svc.InstanceEndpoint(inst)), PrivateConnection: conn(a.svc.InstancePrivateEndpoint(inst)), Tags: inst.Tags, DBNames: dbNames(inst),
		Users: clusterUsers(inst), ProjectID: projectUUID(projectID), MetricsEndpoints: []struct{}{},
		MaintenanceWindow: maintenanceWindow{Day: st.Maintenance.Day, Hour: st.Maintenance.Hour, Description: []string{}},
		StorageAutoscale:  wireAutoscale(st.Autoscale),
		DOSettings:        doSettings{ServiceCnames: clustersettings.ServiceNames(inst)},
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	return c
}

// clusters writes insts, all of p's account, as DigitalOcean's Database objects.
func (a api) clusters(r *http.Request, p dbtrust.Principal, insts ...dbtrust.Instance) ([]cluster, error) {
	if len(insts) == 0 {
		return []cluster{}, nil
	}
	project, err := a.svc.ProjectOf(r.Context(), p, insts[0]) // one account: one project
	if err != nil {
		return nil, err
	}
	st, err := a.settings.Get(r.Context(), p, insts...)
	if err != nil {
		return nil, err
	}
	out := make([]cluster, 0, len(insts))
	for i, inst := range insts {
		out = append(out, a.cluster(inst, project, st[i]))
	}
	return out, nil
}
