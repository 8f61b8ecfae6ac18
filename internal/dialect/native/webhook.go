package native

import (
	"net/http"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

func (a api) createWebhook(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req client.CreateWebhookRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	wh, secret, err := a.svc.CreateWebhook(r.Context(), p, req.Spec())
	if err != nil {
		return err
	}
	out := client.FromWebhook(wh)
	out.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, jsonType, out)
	return nil
}

func (a api) listWebhooks(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	list, err := a.svc.ListWebhooks(r.Context(), p)
	if err != nil {
		return err
	}
	out := client.WebhookList{Webhooks: []client.Webhook{}}
	for _, wh := range list {
		out.Webhooks = append(out.Webhooks, client.FromWebhook(wh))
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, out)
	return nil
}

func (a api) deleteWebhook(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	if err := a.svc.DeleteWebhook(r.Context(), p, r.PathValue("webhook_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a api) listDeliveries(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	limit, err := dbtrust.ParseAuditLimit(r.URL.Query().Get("limit"))
	if err != nil {
		return err
	}
	list, err := a.svc.WebhookDeliveries(r.Context(), p, r.PathValue("webhook_id"), limit)
	if err != nil {
		return err
	}
	out := client.DeliveryList{Deliveries: []client.Delivery{}}
	for _, d := range list {
		out.Deliveries = append(out.Deliveries, client.FromDelivery(d))
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, out)
	return nil
}
