package kek

import (
	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/selftls"
)

// Bindings gives rotation the binding of every kind of sealed value the
// store keeps, by table (the store's SealedValues names the Ref fields), from
// the package that seals it.
func Bindings() AADs {
	return AADs{
		"cas":               func(r []string) []byte { return dbtrust.CAKeyAAD(r[0]) },
		"access_keys":       func(r []string) []byte { return accesskey.SecretAAD(r[0], r[1], dbtrust.Role(r[2])) },
		"signing_keys":      func(r []string) []byte { return dbtrust.SigningKeyAAD(r[0], r[1]) },
		"astra_credentials": func(r []string) []byte { return credential.KeyStoreAAD(r[0]) },
		"serving_cas":       func(r []string) []byte { return selftls.KeyAAD(r[0]) },
		"webhooks":          func(r []string) []byte { return dbtrust.WebhookSecretAAD(r[0], r[1]) },
	}
}
