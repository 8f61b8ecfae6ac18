package dbtrust_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
)

// TestSecretsAtRest reads the raw bytes of the SQLite database and its WAL
// and finds no CA private key (whole, in part, or as PEM) and no token secret.
func TestSecretsAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, dbtrust.Options{})

	var secrets []string // full token strings and their secret halves
	addToken := func(full string) {
		secrets = append(secrets, full)
		_, secret, ok := strings.Cut(strings.TrimPrefix(full, dbtrust.TokenPrefix), "_")
		if !ok || len(secret) < 40 {
			t.Fatalf("token %q has no secret half", full)
		}
		secrets = append(secrets, secret)
	}
	var instances []dbtrust.Instance
	var owners []dbtrust.Principal
	for _, acct := range []string{"alpha", "beta"} {
		_, owner, token := e.account(t, acct)
		owners = append(owners, owner)
		addToken(token)
		for _, role := range []dbtrust.Role{dbtrust.RoleViewer, dbtrust.RoleAdmin} {
			_, _, full := e.principal(t, owner, role)
			addToken(full)
		}
		for i, kt := range []string{"ecdsa-p256", "ecdsa-p384", "rsa-2048"} {
			instances = append(instances, e.instance(t, owner, dbtrust.InstanceSpec{
				Name: acct + "-" + string(rune('a'+i)), Engine: "pg", CAKeyType: kt,
			}))
		}
	}
	// Issue a certificate with a generated key: the key goes to the caller only.
	issued, err := e.svc.IssueCertificate(ctx, owners[0], instances[0].ID, dbtrust.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(issued.KeyPEM)
	if blk == nil {
		t.Fatalf("IssueCertificate().KeyPEM = %q, want a PEM key", issued.KeyPEM)
	}
	leafKey := blk.Bytes

	// The plaintext keys, opened from the store the way the Service opens them.
	type caKey struct {
		ca  dbtrust.CA
		der []byte
	}
	var keys []caKey
	for i, inst := range instances {
		cas, err := e.store.ListCAs(ctx, owners[i/3].AccountID, inst.ID)
		if err != nil || len(cas) != 1 {
			t.Fatalf("ListCAs(%q) = %d, %v, want 1 CA", inst.Name, len(cas), err)
		}
		ca := cas[0]
		der, err := e.sealer.Open(ca.SealedKey, []byte("ca-key:"+ca.ID))
		if err != nil {
			t.Fatalf("Open(sealed key of CA %s) = %v, want nil", ca.ID, err)
		}
		key, err := pki.ParseKey(der)
		if err != nil {
			t.Fatalf("ParseKey(opened key of CA %s) = %v, want nil", ca.ID, err)
		}
		cert, err := pki.ParseCertsPEM(ca.CertPEM)
		if err != nil {
			t.Fatal(err)
		}
		if !publicKeysEqual(cert[0], key) {
			t.Fatalf("opened key of CA %s does not match its certificate", ca.ID)
		}
		if bytes.Contains(ca.SealedKey, der) {
			t.Fatalf("sealed key of CA %s holds the plaintext DER", ca.ID)
		}
		keys = append(keys, caKey{ca, der})
	}

	check := func(when string, files map[string][]byte) {
		t.Helper()
		var all []byte
		for _, b := range files {
			all = append(all, b...)
		}
		// The files are the right ones: the public parts are there in clear.
		for _, k := range keys {
			if !bytes.Contains(all, []byte(k.ca.Fingerprint)) {
				t.Fatalf("%s: CA fingerprint %s not found in the database files; wrong files read?", when, k.ca.Fingerprint)
			}
		}
		for name, raw := range files {
			if bytes.Contains(raw, []byte("PRIVATE KEY")) {
				t.Errorf("%s: %s contains %q", when, name, "PRIVATE KEY")
			}
			for _, k := range keys {
				if bytes.Contains(raw, k.der) {
					t.Errorf("%s: %s contains the whole PKCS#8 key of CA %s (%s)", when, name, k.ca.ID, k.ca.KeyType)
				}
				for off := 0; off+32 <= len(k.der); off += 16 {
					if bytes.Contains(raw, k.der[off:off+32]) {
						t.Errorf("%s: %s contains bytes %d-%d of the key of CA %s (%s)", when, name, off, off+32, k.ca.ID, k.ca.KeyType)
						break
					}
				}
			}
			if len(leafKey) >= 32 && bytes.Contains(raw, leafKey[len(leafKey)-32:]) {
				t.Errorf("%s: %s contains the generated leaf key", when, name)
			}
			for _, s := range secrets {
				if bytes.Contains(raw, []byte(s)) {
					t.Errorf("%s: %s contains the token secret %.12s...", when, name, s)
				}
			}
		}
	}

	// While the store is open, most recent writes sit in the WAL.
	open := readDBFiles(t, e.path)
	if _, ok := open[filepath.Base(e.path)+"-wal"]; !ok {
		t.Errorf("no %s-wal file while the store is open, want WAL mode", e.path)
	}
	check("store open", open)
	// After Close, SQLite checkpoints the WAL into the main file.
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	check("store closed", readDBFiles(t, e.path))
}

// readDBFiles returns the database file and, when present, its -wal and
// -journal files, keyed by file name.
func readDBFiles(t *testing.T, path string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, suffix := range []string{"", "-wal", "-journal"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, fs.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(path+suffix)] = b
	}
	return out
}

func publicKeysEqual(c *x509.Certificate, key interface{ Public() crypto.PublicKey }) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(c.PublicKey)
}
