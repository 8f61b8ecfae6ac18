package e2e_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

// pgConnect connects to the server with full verification against the
// bundle file, and returns the certificate the server presented.
func pgConnect(port int, bundleFile string) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=verify-full sslrootcert=%s connect_timeout=10", port, bundleFile))
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	var ssl bool
	if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
		return nil, err
	}
	if !ssl {
		return nil, fmt.Errorf("the connection is not encrypted")
	}
	tc, ok := conn.PgConn().Conn().(*tls.Conn)
	if !ok {
		return nil, fmt.Errorf("the connection is a %T, not TLS", conn.PgConn().Conn())
	}
	return tc.ConnectionState().PeerCertificates[0], nil
}

// psql runs libpq's own client the way the psql recipe does (verify-full,
// sslrootcert) and returns whether the session is encrypted ("t"); ok is
// false when psql is not installed.
func psql(t *testing.T, port int, bundleFile string) (out string, ok bool, err error) {
	t.Helper()
	bin, lerr := exec.LookPath("psql")
	if lerr != nil {
		return "", false, nil
	}
	cmd := exec.Command(bin, fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=verify-full sslrootcert=%s connect_timeout=10", port, bundleFile),
		"-XtAc", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
	cmd.Env = append(os.Environ(), "PGSSLCERT=/nonexistent", "PGSSLKEY=/nonexistent")
	b, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(b)), true, err
}

// TestPostgresVerifyFullAcrossRotation runs a real PostgreSQL with a server
// certificate dbtrust issued, and clients that fetched the CA through the
// DigitalOcean endpoint and connect with sslmode=verify-full; then a full
// rotation, after which the client holding the bundle fetched after
// "rotate start" connects again unchanged.
func TestPostgresVerifyFullAcrossRotation(t *testing.T) {
	t.Parallel()
	if os.Getenv("CI") == "true" && !pgtest.Available() {
		t.Fatal("PostgreSQL server binaries are missing (.ci/run installs them)")
	}
	d := startTrust(t)
	inst := d.createInstance("orders", "pg")
	other := d.createInstance("billing", "pg")
	clients := t.TempDir()

	pg := pgtest.StartServer(t)
	first := d.issue(inst.ID)
	pg.SetTLS([]byte(first.CertificatePEM), []byte(first.PrivateKeyPEM))
	pg.Restart()

	before := save(t, clients, "before.pem", d.doBundle(inst.ID))
	foreign := save(t, clients, "other.pem", d.doBundle(other.ID))
	if _, err := pgConnect(pg.Port(), before); err != nil {
		t.Fatalf("verify-full with the instance's CA: %v", err)
	}
	if _, err := pgConnect(pg.Port(), foreign); !isUnknownAuthority(err) {
		t.Fatalf("verify-full with another instance's CA: %v, want an unknown-authority refusal", err)
	}

	// Rotation start: the bundle now holds current and next; a client that
	// fetches it now still reaches the server, which has not changed.
	started := d.rotate(inst.ID, "start")
	afterStartBundle := d.doBundle(inst.ID)
	if n := count(t, afterStartBundle); n != 2 {
		t.Fatalf("bundle after rotate start has %d certificates, want 2", n)
	}
	afterStart := save(t, clients, "after-start.pem", afterStartBundle)
	if _, err := pgConnect(pg.Port(), afterStart); err != nil {
		t.Fatalf("verify-full with the bundle fetched after start, old server certificate: %v", err)
	}

	// Finish, re-issue the server certificate from the new CA, restart.
	finished := d.rotate(inst.ID, "finish")
	if caFingerprint(t, finished, "current") != caFingerprint(t, started, "next") {
		t.Fatal("finish did not promote the next CA")
	}
	second := d.issue(inst.ID)
	if second.CAID == first.CAID {
		t.Fatal("the re-issued certificate comes from the old CA")
	}
	pg.SetTLS([]byte(second.CertificatePEM), []byte(second.PrivateKeyPEM))
	pg.Restart()

	// The same client, same file, same connection string: connects.
	var leaf *x509.Certificate
	waitFor(t, "verify-full after the rotation with the bundle fetched after start", func() (err error) {
		leaf, err = pgConnect(pg.Port(), afterStart)
		return err
	})
	if got := issuerFingerprint(t, leaf, afterStartBundle); got != caFingerprint(t, finished, "current") {
		t.Fatalf("the server's certificate was signed by %s, want the new current CA", got)
	}
	// A client that never refreshed its bundle (old CA only) is now refused,
	// and so is one that holds another instance's CA.
	if _, err := pgConnect(pg.Port(), before); !isUnknownAuthority(err) {
		t.Fatalf("verify-full with the pre-rotation bundle: %v, want an unknown-authority refusal", err)
	}
	if _, err := pgConnect(pg.Port(), foreign); !isUnknownAuthority(err) {
		t.Fatalf("verify-full with another instance's CA after rotation: %v, want an unknown-authority refusal", err)
	}
	// libpq itself (psql, as the recipe runs it) agrees.
	if out, ok, err := psql(t, pg.Port(), afterStart); ok && (err != nil || out != "t") {
		t.Fatalf("psql verify-full with the bundle fetched after start: %q, %v", out, err)
	}
	if out, ok, err := psql(t, pg.Port(), foreign); ok && err == nil {
		t.Fatalf("psql verify-full with another instance's CA connected: %q", out)
	}
	// The bundle served now (current + previous) verifies the server too.
	now := save(t, clients, "now.pem", d.doBundle(inst.ID))
	if _, err := pgConnect(pg.Port(), now); err != nil {
		t.Fatalf("verify-full with the bundle served after finish: %v", err)
	}
}
