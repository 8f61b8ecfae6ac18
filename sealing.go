package dbtrust

// The bindings (additional authenticated data) of the values the Service
// seals, for KEK rotation, which must open and re-seal each value under the
// binding it was sealed with.

// CAKeyAAD binds a sealed CA key to its CA.
func CAKeyAAD(caID string) []byte { return caAAD(caID) }

// SigningKeyAAD binds a sealed signing key to its name and ID.
func SigningKeyAAD(name, id string) []byte { return signingKeyAAD(SigningKey{Name: name, ID: id}) }

// WebhookSecretAAD binds a webhook's sealed secret to the webhook and its
// account.
func WebhookSecretAAD(id, accountID string) []byte {
	return webhookAAD(Webhook{ID: id, AccountID: accountID})
}
