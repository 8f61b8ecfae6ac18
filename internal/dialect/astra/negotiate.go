package astra

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/dbtrust/dbtrust"
)

// Content negotiation and response bodies.

const (
	typeCertificate  = "application/astra-certificate"
	typeCredential   = "application/astra-credential"
	mediaCertificate = typeCertificate + "+json"
	mediaCredential  = typeCredential + "+json"
	mediaJSON        = "application/json"
	mediaProblem     = "application/problem+json"
)

// negotiate picks the media type of a single-resource response: the
// resource's own type when Accept names it, application/json when Accept is
// absent or allows JSON, else problem 32.
func negotiate(r *http.Request, resource string) (string, error) {
	accept := strings.Join(r.Header.Values("Accept"), ",")
	if strings.TrimSpace(accept) == "" {
		return mediaJSON, nil
	}
	jsonOK := false
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
				continue
			}
		}
		switch mt {
		case resource:
			return resource, nil
		case mediaJSON, "application/*", "*/*":
			jsonOK = true
		}
	}
	if jsonOK {
		return mediaJSON, nil
	}
	return "", newProblem(32)
}

// acceptsExactly reports whether Accept names media type mt.
func acceptsExactly(r *http.Request, mt string) bool {
	for _, part := range strings.Split(strings.Join(r.Header.Values("Accept"), ","), ",") {
		if t, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && t == mt {
			return true
		}
	}
	return false
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, dbtrust.Wrap(dbtrust.Internal, err, "response encoding failed")
	}
	return b, nil
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	writeTagged(w, status, contentType, body, etag(body))
}

// writeTagged is writeBody with the body's ETag already made.
func writeTagged(w http.ResponseWriter, status int, contentType string, body []byte, tag string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", tag)
	w.WriteHeader(status)
	w.Write(body)
}
