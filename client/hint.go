package client

import (
	"crypto/x509"
	"errors"
	"net"
	"syscall"

	"github.com/dbtrust/dbtrust"
)

// Hint says in plain words what to do about an error a Client returned, or
// "" when there is nothing to add to its message. It names the command
// line's flags (--server, --server-ca, --token), which the dbtrust command
// and its agent share. The cause's own text (Go's transport or TLS words) is
// never part of it.
func Hint(err error) string {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(err, &ua):
		return "its HTTPS certificate is signed by a CA this machine does not trust; pass that CA with --server-ca FILE (serve prints it as 'tls ca:')"
	case errors.As(err, &hn):
		return "its HTTPS certificate does not name the host in --server; use a name it holds, or serve with --tls-hosts"
	case errors.As(err, &ci):
		return "its HTTPS certificate is not valid now (expired, or not yet valid); check the server's certificate and this machine's clock"
	case errors.As(err, &dns):
		return "its host name does not resolve; check --server (DBTRUST_SERVER)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing is listening there; is 'dbtrust serve' running? check --server (DBTRUST_SERVER)"
	case errors.As(err, &op) && op.Op == "dial":
		return "nothing answers there; check --server (DBTRUST_SERVER), the network, and that 'dbtrust serve' runs"
	case dbtrust.ErrorCode(err) == dbtrust.Unauthorized:
		return "check --token (DBTRUST_TOKEN): it may be mistyped or revoked"
	}
	return ""
}
