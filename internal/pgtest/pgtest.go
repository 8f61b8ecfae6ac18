// Package pgtest gives tests their own PostgreSQL database on the server
// named by DBTRUST_TEST_POSTGRES, and, for outage tests, a PostgreSQL server
// of their own that they may stop and start.
package pgtest

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable with the test server's URL, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvURL = "DBTRUST_TEST_POSTGRES"

// FreshDB creates a new, empty database for one test and returns its URL; it
// is dropped when the test ends. The test is skipped when EnvURL is unset.
func FreshDB(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		Skip(t, EnvURL+" is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable); skipping PostgreSQL tests")
	}
	return CreateDB(t, base)
}

// CreateDB creates a new, empty database on the server at base and returns
// its URL; it is dropped when the test ends.
func CreateDB(t testing.TB, base string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect %s: %v", base, err)
	}
	defer admin.Close(ctx)
	name := "dbtrust_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Skip skips the test with msg on a developer's machine, and fails it under
// CI (CI set), where .ci/run must have provided everything the tests need.
func Skip(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set: .ci/run must provide it)")
	}
	t.Skip(msg)
}
