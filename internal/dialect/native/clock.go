package native

import (
	"net/http"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

func (a api) getClock(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	c, err := a.svc.Clock(r.Context(), p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromClock(c))
	return nil
}

func (a api) moveClock(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.MoveClockRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	var m dbtrust.ClockMove
	if req.Advance != "" {
		d, err := time.ParseDuration(req.Advance)
		if err != nil || d <= 0 {
			return dbtrust.FieldError("advance", "advance must be a positive duration such as 720h or 90m")
		}
		m.Advance = d
	}
	if req.Now != "" {
		t, err := time.Parse(time.RFC3339Nano, req.Now)
		if err != nil {
			return dbtrust.FieldError("now", "now must be an RFC 3339 time such as 2030-01-01T00:00:00Z")
		}
		m.Now = t
	}
	c, err := a.svc.MoveClock(r.Context(), p, m)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, client.FromClock(c))
	return nil
}
