package astra

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
)

// Request bodies in, and the metadata member every resource carries out.

// readBody reads and checks a request body against sch: 85 over the limit,
// 7 when it is not JSON, 8 when it does not fit the schema. The body is
// parsed as JSON whatever its Content-Type (Astra's own curl examples send none).
func (a api) readBody(w http.ResponseWriter, r *http.Request, sch *schema, into any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return newProblem(85)
		}
		return newProblem(7)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return newProblem(7)
	}
	if _, err := dec.Token(); err != io.EOF {
		return newProblem(7)
	}
	if err := sch.check(doc, ""); err != nil {
		return schemaFailure(err.Error())
	}
	if err := json.Unmarshal(body, into); err != nil {
		return schemaFailure(err.Error())
	}
	return nil
}

type metadataIn struct {
	Labels *[]dbtrust.Label `json:"labels"`
}

func labelsOf(m *metadataIn) *[]dbtrust.Label {
	if m == nil {
		return nil
	}
	return m.Labels
}

func boolOf(s *string) *bool {
	if s == nil {
		return nil
	}
	b := *s == "true"
	return &b
}

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parseTime reads a timestamp the schema has already checked.
func parseTime(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, strings.Replace(*s, ",", ".", 1))
	if err != nil {
		return nil, schemaFailure("/" + field + ": not a valid date and time")
	}
	return &t, nil
}

type metadataOut struct {
	Labels                []dbtrust.Label `json:"labels"`
	CreationTimestamp     string          `json:"creationTimestamp"`
	ModificationTimestamp string          `json:"modificationTimestamp"`
	CreatedBy             string          `json:"createdBy"`
	ModifiedBy            string          `json:"modifiedBy,omitempty"`
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func metadataOf(m dbtrust.Meta) metadataOut {
	labels := m.Labels
	if labels == nil {
		labels = []dbtrust.Label{}
	}
	return metadataOut{Labels: labels, CreationTimestamp: stamp(m.CreatedAt), ModificationTimestamp: stamp(m.ModifiedAt),
		CreatedBy: m.CreatedBy, ModifiedBy: m.ModifiedBy}
}

// location is the URL of the resource id made by a POST to r's collection.
func location(r *http.Request, id string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + strings.TrimSuffix(r.URL.Path, "/") + "/" + id
}
