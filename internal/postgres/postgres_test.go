package postgres_test

import (
	"context"
	"testing"

	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/storetest"
)

// freshDB creates a new, empty database for one test on the server named by
// DBTRUST_TEST_POSTGRES and returns its URL; it is dropped when the test ends.
func freshDB(t testing.TB) string { return pgtest.FreshDB(t) }

// Every suite the one SQL store implements: the core's and each
// capability's.
func TestConformance(t *testing.T)                { storetest.Run(t, open) }
func TestTrustCertConformance(t *testing.T)       { storetest.RunTrustCert(t, open) }
func TestCredentialConformance(t *testing.T)      { storetest.RunCredential(t, open) }
func TestAccessKeyConformance(t *testing.T)       { storetest.RunAccessKey(t, open) }
func TestKeysConformance(t *testing.T)            { storetest.RunKeys(t, open) }
func TestClusterSettingsConformance(t *testing.T) { storetest.RunClusterSettings(t, open) }

func open(t *testing.T) *postgres.Store {
	s, err := postgres.Open(context.Background(), freshDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
