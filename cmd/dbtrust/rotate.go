package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust/client"
)

// rotateHints says, after each step, what the operator does next.
var rotateHints = map[string]string{
	"start":    "The bundle now holds the current and the next CA. Let clients fetch it again (dbtrust recipe, or their\nvendor API), check with 'dbtrust rotate status', then run 'dbtrust rotate finish'.",
	"finish":   "New certificates now come from the new CA; the old one stays in the bundle as previous. Re-issue the\nnodes' certificates (dbtrust cert issue), then 'dbtrust rotate retire'. 'dbtrust rotate rollback' undoes this step.",
	"rollback": "The old CA is current again and the new one is back to next: 'dbtrust rotate finish' promotes it again.",
	"retire":   "The previous CA is no longer served.",
}

func newRotateCmd(a *app) *cobra.Command {
	cmd := group("rotate", "Rotate an instance's CA in stages: start, finish, retire (or rollback); status shows who holds the new CA")
	var keyType string
	var force, yes bool
	step := func(name, short string, do func(ctx context.Context, b backend, id string) (client.FinishResult, error)) *cobra.Command {
		return &cobra.Command{
			Use:   name + " INSTANCE",
			Short: short,
			Args:  exactArgs(1),
			RunE: a.onInstance(func(ctx context.Context, b backend, inst client.Instance, args []string) error {
				if name == "retire" {
					if err := a.confirm(yes, "retire the previous CA of "+inst.Name+": clients that trust only it stop verifying"); err != nil {
						return err
					}
				}
				r, err := do(ctx, b, inst.ID)
				if err != nil {
					return err
				}
				return a.printStep(name, r)
			}),
		}
	}
	wrap := func(l client.CAList, err error) (client.FinishResult, error) {
		return client.FinishResult{CAList: l}, err
	}
	start := step("start", "Make a next CA; the bundle becomes current + next", func(ctx context.Context, b backend, id string) (client.FinishResult, error) {
		return wrap(b.RotateStart(ctx, id, keyType))
	})
	start.Flags().StringVar(&keyType, "key-type", "", "key type of the next CA (default: the current CA's)")
	finish := step("finish", "Make the next CA current; the old one stays in the bundle as previous", func(ctx context.Context, b backend, id string) (client.FinishResult, error) {
		return b.RotateFinish(ctx, id, force)
	})
	finish.Flags().BoolVar(&force, "force", false, "finish even while an agent of the instance has not installed the next CA")
	rollback := step("rollback", "Undo a finish: the previous CA is current again", func(ctx context.Context, b backend, id string) (client.FinishResult, error) {
		return wrap(b.RotateRollback(ctx, id))
	})
	retire := step("retire", "Stop serving the previous CA (asks first; --yes when not on a terminal)", func(ctx context.Context, b backend, id string) (client.FinishResult, error) {
		return wrap(b.RotateRetire(ctx, id, force))
	})
	retire.Flags().BoolVar(&force, "force", false, "retire even while certificates of the previous CA are still valid")
	addYes(retire, &yes)
	cmd.AddCommand(newRotateStatusCmd(a), start, finish, rollback, retire)
	return cmd
}

// printStep prints a rotation step's CAs (and, after a finish, the clients
// that lack the new CA) and what to do next. JSON and YAML print the answer
// of the step: the CA list, with "lacking" after a finish.
func (a *app) printStep(name string, r client.FinishResult) error {
	var v any = r.CAList
	if name == "finish" {
		v = r
	}
	if a.cfg.Output != "table" {
		return a.print(v, nil)
	}
	if err := a.printCAs(r.CAList); err != nil {
		return err
	}
	if len(r.Lacking) > 0 {
		fmt.Fprintf(a.stdout, "\nWarning: %d known client(s) had not fetched the bundle with the new CA:\n", len(r.Lacking))
		if err := a.printClients(r.Lacking); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stdout, "\n%s\n", rotateHints[name])
	return nil
}

func newRotateStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status INSTANCE",
		Short: "The rotation's stage, and which clients hold the new CA",
		Args:  exactArgs(1),
		RunE: a.onInstance(func(ctx context.Context, b backend, inst client.Instance, args []string) error {
			st, err := b.RotationStatus(ctx, inst.ID)
			if err != nil {
				return err
			}
			if a.cfg.Output != "table" {
				return a.print(st, nil)
			}
			fmt.Fprintf(a.stdout, "stage:   %s\nnew CA:  %s (SHA-256 %s)\nclients: %d hold it, %d do not\n\n",
				st.Stage, dashIfEmpty(st.NewCAID), dashIfEmpty(st.NewCASHA256), st.HoldingCount, st.LackingCount)
			return a.printClients(st.Clients)
		}),
	}
}

func (a *app) printClients(cs []client.RotationClient) error {
	return a.print(cs, func(t *table) {
		t.header("HOLDS NEW CA", "KIND", "NAME", "SUBJECT", "VIA", "LAST FETCH", "FETCHES")
		for _, c := range cs {
			t.row(yesNo(c.HoldsNext), c.Kind, c.Name, c.Subject, c.Via, c.LastFetch, strconv.FormatInt(c.Fetches, 10))
		}
	})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
