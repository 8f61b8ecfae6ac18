package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
)

// config is dbtrust's one configuration. It is read once, before any command
// runs, from (first wins) the command line, the environment (each setting's
// DBTRUST_* variable), the config file (--config, YAML: flag names as keys)
// and the defaults. serve and every command that works on the data folder
// take their options from it, so that the same settings make the same data
// whichever of them makes it.
type config struct {
	File string // --config

	// Where the data is: the data folder (or --store) ...
	Data    string
	Store   string
	Keys    kekFlags
	Account string
	// ... or a running server's native API.
	Server   string
	Token    string
	ServerCA string

	Output   string
	NoHeader bool
	Verbose  bool

	// What new data looks like, made by serve or by a local command alike.
	CAValidity time.Duration
	CAKeyType  string
	DBDomain   string
	CRLBaseURL string

	Serve serveConfig
}

// envAnnotation names the environment variable of a flag.
const envAnnotation = "dbtrust_env"

// withEnv makes the environment variable env set flag name of fs (when the
// command line does not), and says so in the flag's help.
func withEnv(fs *pflag.FlagSet, name, env string) {
	f := fs.Lookup(name)
	f.Usage += " (env " + env + ")"
	_ = fs.SetAnnotation(name, envAnnotation, []string{env})
}

// registerGlobal adds the settings every command shares to the root's
// persistent flags.
func (c *config) registerGlobal(fs *pflag.FlagSet) {
	fs.StringVar(&c.File, "config", "", "YAML file of settings, flag names as keys (serve's too); flags and environment win over it")
	fs.StringVar(&c.Data, "data", "", "data folder: dbtrust.db, kek, tls/ (default $XDG_DATA_HOME/dbtrust or ~/.local/share/dbtrust)")
	fs.StringVar(&c.Store, "store", "", "store: empty for the SQLite file in the data folder, sqlite:PATH, or postgres://...")
	c.Keys.register(fs)
	fs.StringVar(&c.Account, "account", "", "account ID or name on the data folder (default: the only account); through --server the token's account")
	fs.StringVar(&c.Server, "server", "", "URL of a running dbtrust: work through its /v1 API instead of the data folder")
	fs.StringVar(&c.Token, "token", "", "bearer token for --server")
	fs.StringVar(&c.ServerCA, "server-ca", "", "PEM file of the CA that signed --server's HTTPS certificate (serve --https prints it)")
	fs.StringVarP(&c.Output, "output", "o", "table", "output format: table, json or yaml")
	fs.BoolVar(&c.NoHeader, "no-header", false, "print tables without their header line")
	fs.BoolVarP(&c.Verbose, "verbose", "v", false, "say where the command works (data folder or server) and the cause of errors")
	fs.DurationVar(&c.CAValidity, "ca-validity", 10*365*24*time.Hour, "lifetime of a new instance CA")
	fs.StringVar(&c.CAKeyType, "ca-key-type", "", "key type of a new instance CA: ecdsa-p256 (default), ecdsa-p384, rsa-2048, rsa-3072, rsa-4096")
	fs.StringVar(&c.DBDomain, "db-domain", "db.internal", "DNS suffix of instance host names")
	fs.StringVar(&c.CRLBaseURL, "crl-base-url", "", "public base URL of the server; when set, issued certificates name BASE/v1/cas/{ca_id}/crl as their CRL distribution point")
	for name, env := range map[string]string{
		"config": "DBTRUST_CONFIG", "data": "DBTRUST_DATA", "store": "DBTRUST_STORE",
		"account": "DBTRUST_ACCOUNT", "server": "DBTRUST_SERVER", "token": "DBTRUST_TOKEN", "server-ca": "DBTRUST_SERVER_CA",
		"output": "DBTRUST_OUTPUT", "ca-validity": "DBTRUST_CA_VALIDITY", "ca-key-type": "DBTRUST_CA_KEY_TYPE",
		"db-domain": "DBTRUST_DB_DOMAIN", "crl-base-url": "DBTRUST_CRL_BASE_URL",
	} {
		withEnv(fs, name, env)
	}
}

// load completes the command line of cmd from the environment and the
// config file, then checks every value: a malformed one is an error now,
// never silently its default.
func (c *config) load(cmd *cobra.Command, getenv func(string) string) error {
	fs := cmd.Flags()
	if f := fs.Lookup("config"); !f.Changed && getenv("DBTRUST_CONFIG") != "" {
		c.File = getenv("DBTRUST_CONFIG")
	}
	file, err := readConfigFile(c.File, cmd.Root())
	if err != nil {
		return err
	}
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" {
			return
		}
		if env := f.Annotations[envAnnotation]; len(env) == 1 && getenv(env[0]) != "" {
			if fs.Set(f.Name, getenv(env[0])) != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %s", env[0], getenv(env[0]), valueWanted(f)))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if fs.Set(f.Name, v) != nil {
				errs = append(errs, fmt.Sprintf("config file %s: %s: %q: %s", c.File, f.Name, v, valueWanted(f)))
			}
		}
	})
	if len(errs) > 0 {
		return usageErrorf("%s", strings.Join(errs, "; "))
	}
	if c.Data == "" {
		c.Data = defaultDataDir(getenv)
	}
	c.Keys.value, c.Keys.newValue = getenv("DBTRUST_KEK"), getenv("DBTRUST_NEW_KEK")
	return c.validate()
}

// valueWanted says, in plain words, what a flag of f's type takes.
func valueWanted(f *pflag.Flag) string {
	switch f.Value.Type() {
	case "int", "int64", "uint":
		return "want a whole number, such as 5000"
	case "duration":
		return "want a duration such as 90s, 10m or 720h"
	case "bool":
		return "want true or false"
	}
	return "not a valid value for --" + f.Name
}

func (c *config) validate() error {
	if !slices.Contains([]string{"table", "json", "yaml"}, c.Output) {
		return usageErrorf("output format %q: want table, json or yaml", c.Output)
	}
	if c.CAKeyType != "" {
		if _, err := pki.ParseKeyType(c.CAKeyType); err != nil {
			return usageErrorf("CA key type %q: want ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096", c.CAKeyType)
		}
	}
	if c.CAValidity < time.Hour {
		return usageErrorf("CA validity %s: want at least 1h, such as 720h or 87600h", c.CAValidity)
	}
	return c.Serve.validate()
}

// readConfigFile reads a flat YAML map of flag names to values. A key that
// no command of root knows is an error, with a suggestion.
func readConfigFile(path string, root *cobra.Command) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("config file: %v", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, usageErrorf("config file %s is not a YAML map of settings: %v", path, err)
	}
	known := allFlagNames(root)
	out := map[string]string{}
	for k, v := range raw {
		if !slices.Contains(known, k) {
			return nil, usageErrorf("config file %s: unknown setting %q%s", path, k, didYouMean(k, known))
		}
		switch v := v.(type) {
		case []any:
			parts := make([]string, len(v))
			for i, p := range v {
				parts[i] = fmt.Sprint(p)
			}
			out[k] = strings.Join(parts, ",")
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

// allFlagNames lists the flags of root and every command under it.
func allFlagNames(root *cobra.Command) []string {
	var names []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return names
}

// defaultDataDir is $XDG_DATA_HOME/dbtrust, else ~/.local/share/dbtrust.
func defaultDataDir(getenv func(string) string) string {
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "dbtrust")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "dbtrust")
	}
	return "dbtrust-data"
}

// serviceOptions are the core's options: the same for serve and for every
// command that works on the data folder.
func (c *config) serviceOptions(log *slog.Logger) dbtrust.Options {
	return dbtrust.Options{CAValidity: c.CAValidity, CAKeyType: c.CAKeyType, DBDomain: c.DBDomain, CRLBaseURL: c.CRLBaseURL,
		CacheTTL: c.Serve.CacheTTL, CacheSize: c.Serve.CacheSize, Logger: log}
}
