package agent

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/dbtrust/dbtrust/internal/pki"
)

// The files the agent keeps in its folder. They fit every engine's layout:
//
//	PostgreSQL  ssl_cert_file=server.crt ssl_key_file=server.key ssl_ca_file=ca.pem
//	MySQL       ssl_cert=server.crt ssl_key=server.key ssl_ca=ca.pem
//	Redis/Valkey tls-cert-file server.crt, tls-key-file server.key, tls-ca-cert-file ca.pem
//	MongoDB     net.tls.certificateKeyFile=server.pem (certificate and key in one file), net.tls.CAFile=ca.pem
const (
	fileCert     = "server.crt"
	fileKey      = "server.key"
	fileCA       = "ca.pem"
	fileCombined = "server.pem"
)

// modes: keys are for the database's user alone.
var modes = map[string]os.FileMode{fileCert: 0o644, fileKey: 0o600, fileCA: 0o644, fileCombined: 0o600}

type files struct{ dir string }

func (f files) path(name string) string { return filepath.Join(f.dir, name) }

// state is what is in the folder now; a file that is missing or does not
// parse is nil.
type state struct {
	cert *x509.Certificate
	key  crypto.Signer
	ca   []byte
}

func (f files) load() state {
	var s state
	s.ca, _ = os.ReadFile(f.path(fileCA))
	if b, err := os.ReadFile(f.path(fileCert)); err == nil {
		if certs, err := pki.ParseCertsPEM(b); err == nil {
			s.cert = certs[0]
		}
	}
	if b, err := os.ReadFile(f.path(fileKey)); err == nil {
		if blk, _ := pem.Decode(b); blk != nil {
			s.key, _ = pki.ParseKey(blk.Bytes)
		}
	}
	return s
}

// writeCert puts a new key and certificate in place: the key first, then
// the certificate, then MongoDB's combined file.
func (f files) writeCert(certPEM, keyPEM []byte) error {
	combined := append(append([]byte{}, certPEM...), keyPEM...)
	for _, w := range []struct {
		name string
		data []byte
	}{{fileKey, keyPEM}, {fileCert, certPEM}, {fileCombined, combined}} {
		if err := f.write(w.name, w.data); err != nil {
			return err
		}
	}
	return nil
}

// write replaces one file atomically: a temporary file in the same folder,
// written, synced and renamed over the old one, then the folder synced, so
// that a reader sees the old file or the new one, whole, even after a
// crash. When the agent runs as root the file takes the folder's owner and
// group, so that a database running as its own user can read its key.
func (f files) write(name string, data []byte) error {
	tmp, err := os.CreateTemp(f.dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("cannot write into %s (%v): check that the folder exists and the agent may write to it", f.dir, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(modes[name]); err != nil {
		return fmt.Errorf("cannot set the mode of %s: %v", f.path(name), err)
	}
	if err := f.chown(tmp); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %v", f.path(name), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot sync %s: %v", f.path(name), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %v", f.path(name), err)
	}
	if err := os.Rename(tmp.Name(), f.path(name)); err != nil {
		return fmt.Errorf("cannot put %s in place: %v", f.path(name), err)
	}
	done = true
	if d, err := os.Open(f.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// chown gives the file the folder's owner and group when the agent runs as
// root; otherwise the file is the agent's own.
func (f files) chown(tmp *os.File) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(f.dir)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", f.dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if err := tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("cannot give %s the folder's owner: %v", tmp.Name(), err)
	}
	return nil
}
