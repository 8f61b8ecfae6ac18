package dbtrust

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Recipe is one way to connect to an instance with full verification of the
// server's certificate against the instance's CA bundle.
type Recipe struct {
	Client  string // e.g. "psql", "jdbc", "redis-cli"
	Title   string
	Command string // pasteable, with the bundle at the path the recipe was made for
}

// ConnectionRecipes returns, for one of p's instances, how to connect with
// full verification from each common client of its engine, reading the CA
// bundle at bundlePath (the caller writes the bundle there; see
// InstanceCABundle). The host and port are those of the instance's first
// endpoint (InstanceEndpoint).
func (s *Service) ConnectionRecipes(ctx context.Context, p Principal, instanceID, bundlePath string) (Instance, []Recipe, error) {
	inst, err := s.GetInstance(ctx, p, instanceID)
	if err != nil {
		return Instance{}, nil, err
	}
	if bundlePath == "" {
		bundlePath = BundleFile(inst.Name)
	}
	ep := s.InstanceEndpoint(inst)
	return inst, Recipes(inst.Engine, ep.Host, ep.Port, bundlePath), nil
}

// BundleFile is the default file name of an instance's CA bundle, where the
// recipes and the CLI expect it: NAME-ca.pem.
func BundleFile(instanceName string) string { return instanceName + "-ca.pem" }

// Recipes returns the connection recipes of an engine for host:port, with the
// CA bundle at bundlePath.
func Recipes(engine Engine, host string, port int, bundlePath string) []Recipe {
	ca, hp, uca := shellQuote(bundlePath), net.JoinHostPort(host, strconv.Itoa(port)), uriEscape(bundlePath)
	switch engine {
	case EnginePostgres:
		return []Recipe{
			{"psql", "psql (libpq): verify-full checks the chain and the host name",
				fmt.Sprintf(`psql "host=%s port=%d dbname=postgres sslmode=verify-full sslrootcert=%s"`, host, port, shellDQ(libpqValue(bundlePath)))},
			{"libpq-uri", "any libpq client (connection URI)",
				fmt.Sprintf(`postgresql://%s/postgres?sslmode=verify-full&sslrootcert=%s`, hp, uca)},
			{"jdbc", "JDBC (pgjdbc 42.2.5 or later reads the PEM bundle directly)",
				fmt.Sprintf(`jdbc:postgresql://%s/postgres?sslmode=verify-full&sslrootcert=%s`, hp, uca)},
		}
	case EngineMySQL:
		return []Recipe{
			{"mysql", "mysql client: VERIFY_IDENTITY checks the chain and the host name",
				fmt.Sprintf(`mysql -h %s -P %d --ssl-mode=VERIFY_IDENTITY --ssl-ca=%s`, host, port, ca)},
			{"keytool", "Java: import the CA into a trust store (keytool takes one certificate per alias: during a rotation, import each certificate of the bundle under its own alias)",
				fmt.Sprintf(`keytool -importcert -noprompt -alias dbtrust-ca -file %s -keystore truststore.p12 -storetype PKCS12 -storepass changeit`, ca)},
			{"jdbc", "JDBC (Connector/J), with the trust store above",
				fmt.Sprintf(`jdbc:mysql://%s/?sslMode=VERIFY_IDENTITY&trustCertificateKeyStoreUrl=file:truststore.p12&trustCertificateKeyStoreType=PKCS12&trustCertificateKeyStorePassword=changeit`, hp)},
		}
	case EngineRedis, EngineValkey:
		cli := "redis-cli"
		if engine == EngineValkey {
			cli = "valkey-cli"
		}
		return []Recipe{
			{cli, cli + " over TLS, verifying the server against the bundle",
				fmt.Sprintf(`%s -h %s -p %d --tls --cacert %s`, cli, host, port, ca)},
			{"uri", "client libraries (rediss:// URI); point the library's CA option at the bundle",
				fmt.Sprintf(`rediss://%s`, hp)},
		}
	case EngineMongoDB:
		return []Recipe{
			{"mongosh", "mongosh over TLS, verifying the server against the bundle",
				fmt.Sprintf(`mongosh "mongodb://%s/?tls=true" --tls --tlsCAFile %s`, hp, ca)},
			{"uri", "drivers (connection string)",
				fmt.Sprintf(`mongodb://%s/?tls=true&tlsCAFile=%s`, hp, uca)},
			{"keytool", "Java driver: import the CA into a trust store (keytool takes one certificate per alias: during a rotation, import each certificate of the bundle under its own alias)",
				fmt.Sprintf(`keytool -importcert -noprompt -alias dbtrust-ca -file %s -keystore truststore.p12 -storetype PKCS12 -storepass changeit`, ca)},
		}
	case EngineKafka:
		return []Recipe{
			{"kafka", "Kafka clients (3.0 or later read PEM trust stores)",
				fmt.Sprintf(`kafka-console-consumer.sh --bootstrap-server %s --topic TOPIC --consumer-property security.protocol=SSL --consumer-property ssl.truststore.type=PEM --consumer-property ssl.truststore.location=%s`, hp, ca)},
		}
	case EngineOpenSearch:
		return []Recipe{
			{"curl", "curl, verifying the server against the bundle",
				fmt.Sprintf(`curl --cacert %s https://%s/`, ca, hp)},
		}
	}
	return nil
}

// safePath reports whether s needs no quoting anywhere: letters, digits and
// / . - _ ~ only.
func safePath(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '.' || r == '-' || r == '_' || r == '~') {
			return false
		}
	}
	return s != ""
}

// libpqValue quotes s as a libpq conninfo value when it needs it: in single
// quotes, with backslash and single quote escaped by a backslash.
func libpqValue(s string) string {
	if safePath(s) {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// shellDQ escapes s for the inside of a double-quoted POSIX shell word.
func shellDQ(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`").Replace(s)
}

// uriEscape percent-encodes s for a URI query value, keeping '/' readable.
func uriEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/.-_~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if safePath(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
