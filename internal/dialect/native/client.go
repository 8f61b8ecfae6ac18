package native

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/dbtrust/dbtrust"
)

// Client calls a running dbtrust's /v1 API with a bearer token.
type Client struct {
	Base  string // e.g. "https://dbtrust.example:8443" (a trailing slash is dropped)
	Token string
	HTTP  *http.Client // default http.DefaultClient
}

// Call sends one request and decodes its JSON answer into out (or, when out
// is a *[]byte, keeps the raw body; nil discards it). An error answer becomes
// a *dbtrust.Error with the server's code, message and field; a request that
// gets no answer returns the transport's error.
func (c *Client) Call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.Base, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
			return &dbtrust.Error{Code: dbtrust.Code(eb.Error.Code), Message: eb.Error.Message, Field: eb.Error.Field}
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = b
		return nil
	}
	return json.Unmarshal(b, out)
}
