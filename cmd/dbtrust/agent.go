package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust/internal/agent"
)

func newAgentCmd(a *app) *cobra.Command {
	var cfg agent.Config
	var once bool
	cmd := &cobra.Command{
		Use:   "agent --server URL --token TOKEN --instance INSTANCE --dir DIR [--reload CMD] [--once]",
		Short: "Keep one database node's TLS files current (run it beside the node)",
		Long: `Keep one database node's TLS files current. The agent makes the node's key itself and sends a CSR
(the key never leaves the node), and writes DIR/server.crt, DIR/server.key (0600), DIR/ca.pem (the
instance's CA bundle) and DIR/server.pem (certificate and key in one file, for MongoDB), each
atomically. It installs the new bundle when a CA rotation starts and a certificate from the new CA
when it finishes, renews at two thirds of a certificate's life, runs --reload after each change, and
keeps the files it has while dbtrust cannot be reached. Use a node token of the instance
('dbtrust token create --instance INSTANCE --name NAME'). --once makes one pass and exits.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.cfg.Server == "" {
				return usageErrorf("agent needs --server (or DBTRUST_SERVER): the URL of a running dbtrust")
			}
			if a.cfg.Token == "" {
				return usageErrorf("agent needs --token (or DBTRUST_TOKEN): a node token of the instance")
			}
			if cfg.Instance == "" || cfg.Dir == "" {
				return usageErrorf("agent needs --instance (the instance's name or ID) and --dir (the folder the database reads its TLS files from)")
			}
			opts, err := a.serverOptions()
			if err != nil {
				return err
			}
			cfg.Server, cfg.Token, cfg.Options = a.cfg.Server, a.cfg.Token, opts
			return runAgent(cmd.Context(), cfg, once, a.stdout, a.stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Instance, "instance", "", "the instance this node serves: its name or ID")
	f.StringVar(&cfg.Dir, "dir", "", "the folder the database reads its TLS files from (it must exist)")
	f.StringVar(&cfg.Reload, "reload", "", "shell command run after each change, such as 'pg_ctl reload -D /var/lib/postgresql/16/main'")
	f.DurationVar(&cfg.Interval, "interval", time.Minute, "how often to look for a CA rotation or an endpoint change")
	f.BoolVar(&once, "once", false, "make one pass and exit: 0 when the files are current, 1 with the reason otherwise")
	return cmd
}

// runAgent runs the node agent: one pass with once (a summary on stdout, an
// error when the pass failed), or passes until ctx is done, logging to
// stderr.
func runAgent(ctx context.Context, cfg agent.Config, once bool, stdout, stderr io.Writer) error {
	cfg.Log = slog.New(slog.NewTextHandler(stderr, nil))
	a, err := agent.New(cfg)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if !once {
		cfg.Log.Info("agent started", "server", cfg.Server, "instance", cfg.Instance, "dir", cfg.Dir, "interval", cfg.Interval.String())
		return a.Run(ctx)
	}
	res, err := a.Once(ctx)
	if err != nil {
		return err
	}
	switch {
	case res.CertRenewed && res.BundleChanged:
		fmt.Fprintf(stdout, "installed the CA bundle and a new certificate (%s)\n", res.Reason)
	case res.CertRenewed:
		fmt.Fprintf(stdout, "installed a new certificate (%s)\n", res.Reason)
	case res.BundleChanged:
		fmt.Fprintln(stdout, "installed the instance's new CA bundle")
	default:
		fmt.Fprintln(stdout, "the files in place are current")
	}
	if res.Reloaded && cfg.Reload != "" {
		fmt.Fprintln(stdout, "reload command succeeded")
	}
	if res.Revoked != "" {
		fmt.Fprintf(stdout, "revoked the certificate it replaced, %s (superseded)\n", res.Revoked)
	}
	fmt.Fprintf(stdout, "next renewal: %s\n", res.NextRenewal.UTC().Format(time.RFC3339))
	return nil
}
