package huaweicloud_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/dbtrust/dbtrust"
)

// TestHuaweiFormInstanceIDs: an instance ID in Huawei Cloud's own form (32
// hex digits and "in02") is well formed: an unknown one is the dialect's
// 404, and an instance created with one serves its CA through DDS and DCS.
func TestHuaweiFormInstanceIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pa := e.a.ProjectID
	unknown := dbtrust.NewProjectID() + "in02"
	wantHuaweiError(t, "DDS unknown Huawei-form ID", e.signed(e.key, "GET", ddsPath(pa, unknown), ""), 404, "DBS.200002")
	wantHuaweiError(t, "DCS unknown Huawei-form ID", e.signed(e.key, "POST", dcsPath(pa, unknown, "/ssl-certs/download"), ""), 404, "111404022")
	wantHuaweiError(t, "DDS ID with a 5-character suffix", e.signed(e.key, "GET", ddsPath(pa, dbtrust.NewProjectID()+"in021"), ""), 400, "DBS.200001")

	owner := dbtrust.Operator(e.a.ID)
	id := dbtrust.NewProjectID() + "in02"
	inst, err := e.svc.CreateInstance(context.Background(), owner, dbtrust.InstanceSpec{ID: id, Name: "docs", Engine: "mongodb"})
	if err != nil || inst.ID != id {
		t.Fatalf("CreateInstance(ID %s) = %+v, %v; want that ID", id, inst, err)
	}
	got := e.signed(e.key, "GET", ddsPath(pa, id), "")
	var b struct {
		Certs []struct {
			DownloadLink string `json:"download_link"`
		} `json:"certs"`
	}
	if got.status != 200 || json.Unmarshal(got.body, &b) != nil || len(b.Certs) != 1 {
		t.Fatalf("DDS download-link for %s = %d %s", id, got.status, got.body)
	}
	e.verifiesServerCert(e.fetchBundle(b.Certs[0].DownloadLink), e.a, inst)

	cacheID := dbtrust.NewProjectID() + "in07"
	cache, err := e.svc.CreateInstance(context.Background(), owner, dbtrust.InstanceSpec{ID: cacheID, Name: "sessions", Engine: "redis"})
	if err != nil {
		t.Fatal(err)
	}
	got = e.signed(e.key, "POST", dcsPath(pa, cacheID, "/ssl-certs/download"), "")
	var d struct {
		Link string `json:"link"`
	}
	if got.status != 200 || json.Unmarshal(got.body, &d) != nil {
		t.Fatalf("DCS download for %s = %d %s", cacheID, got.status, got.body)
	}
	e.verifiesServerCert(e.fetchBundle(d.Link), e.a, cache)

	for _, c := range []struct {
		id   string
		want dbtrust.Code
	}{
		{id, dbtrust.Conflict}, // taken
		{dbtrust.NewProjectID() + "IN02", dbtrust.Invalid},
		{"not-an-id", dbtrust.Invalid},
	} {
		_, err := e.svc.CreateInstance(context.Background(), owner, dbtrust.InstanceSpec{ID: c.id, Name: "other", Engine: "mongodb"})
		if dbtrust.ErrorCode(err) != c.want {
			t.Errorf("CreateInstance(ID %q) = %v, want code %s", c.id, err, c.want)
		}
	}
}
