package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust/client"
)

func newPolicyCmd(a *app) *cobra.Command {
	cmd := group("policy", "An instance's automatic rotation policy", "policies")
	get := &cobra.Command{
		Use:   "get INSTANCE",
		Short: "Show an instance's automatic rotation policy",
		Args:  exactArgs(1),
		RunE: a.onInstance(func(ctx context.Context, b backend, inst client.Instance, args []string) error {
			pol, err := b.RotationPolicy(ctx, inst.ID)
			if err != nil {
				return err
			}
			return a.printPolicy(pol)
		}),
	}
	var req client.PolicyRequest
	var disable bool
	set := &cobra.Command{
		Use:   "set INSTANCE [--start-before D] [--finish-after D] [--retire-after D] [--key-type T] [--disable]",
		Short: "Turn on (or off, with --disable) automatic rotation of an instance's CA",
		Long: `Turn on automatic rotation of an instance's CA: a rotation starts --start-before the current CA
expires, finishes --finish-after it started, and the previous CA is retired --retire-after the
finish. Durations not given take the server's defaults. --disable turns automatic rotation off.`,
		Args: exactArgs(1),
		RunE: a.onInstance(func(ctx context.Context, b backend, inst client.Instance, args []string) error {
			req.Enabled = !disable
			pol, err := b.SetRotationPolicy(ctx, inst.ID, req)
			if err != nil {
				return err
			}
			return a.printPolicy(pol)
		}),
	}
	f := set.Flags()
	f.StringVar(&req.StartBefore, "start-before", "", "start a rotation this long before the current CA expires, e.g. 2160h")
	f.StringVar(&req.FinishAfter, "finish-after", "", "finish it this long after it started, e.g. 168h")
	f.StringVar(&req.RetireAfter, "retire-after", "", "retire the previous CA this long after the finish, e.g. 168h")
	f.StringVar(&req.KeyType, "key-type", "", "key type of the CAs it makes (default: the current CA's)")
	f.BoolVar(&disable, "disable", false, "turn automatic rotation off")
	cmd.AddCommand(get, set)
	return cmd
}

func (a *app) printPolicy(p client.RotationPolicy) error {
	return a.print(p, func(t *table) {
		t.field("instance", p.InstanceID)
		t.field("enabled", strconv.FormatBool(p.Enabled))
		t.field("start before", p.StartBefore)
		t.field("finish after", p.FinishAfter)
		t.field("retire after", p.RetireAfter)
		t.field("key type", p.KeyType)
	})
}
