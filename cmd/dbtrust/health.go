package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newHealthCmd checks a running server, for container health checks and
// scripts: exit 0 when it answers, 6 when it does not.
func newHealthCmd(a *app) *cobra.Command {
	var ready bool
	cmd := &cobra.Command{
		Use:   "health --server URL [--ready]",
		Short: "Check that a running server answers (/healthz), or with --ready that it reaches its store (/readyz)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.cfg.Server == "" {
				return usageErrorf("dbtrust health needs --server URL (or DBTRUST_SERVER)")
			}
			c, err := a.remoteClient(false)
			if err != nil {
				return err
			}
			if err := c.Health(cmd.Context(), ready); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "ok")
			return nil
		},
	}
	cmd.Flags().BoolVar(&ready, "ready", false, "check /readyz: the server can reach its store")
	return cmd
}
