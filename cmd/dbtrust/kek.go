package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/seal"
)

func newKEKCmd(a *app) *cobra.Command {
	cmd := group("kek", "The store's key-encryption keys: status, and rotation to a new key")
	var opt kek.RotateOptions
	rotate := &cobra.Command{
		Use:   "rotate --new-kek-file FILE [--batch N]",
		Short: "Re-seal every secret under a new key-encryption key, online",
		Long: `Re-seal every sealed value under the new key-encryption key, while servers keep serving.
A --new-kek-file that does not exist yet is created, and the command stops there, so that the
file can be handed to every replica (as its --new-kek-file, then SIGHUP) before any value is
sealed under it; run the command again to re-seal. A rotation that stops resumes when run again.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.localOnly("dbtrust kek rotate"); err != nil {
				return err
			}
			return a.kekRotate(cmd.Context(), opt)
		},
	}
	rotate.Flags().IntVar(&opt.Batch, "batch", kek.DefaultBatch, "values re-sealed per transaction")
	rotate.Flags().DurationVar(&opt.Pause, "batch-pause", 0, "a wait after each batch, to spread the rotation's writes on a busy store")
	status := &cobra.Command{
		Use:   "status",
		Short: "The store's key-encryption keys and how many sealed values each one seals",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.localOnly("dbtrust kek status"); err != nil {
				return err
			}
			return a.kekStatus(cmd.Context())
		},
	}
	cmd.AddCommand(rotate, status)
	return cmd
}

type rotateOut struct {
	From   string         `json:"from"`
	To     string         `json:"to"`
	Tables []kek.Progress `json:"tables"`
}

// kekRotate re-seals every sealed value under the new key. A new-key file
// that does not exist yet is created, and the command stops there, so that
// the file can be handed to every replica before any value is sealed under
// it.
func (a *app) kekRotate(ctx context.Context, opt kek.RotateOptions) error {
	_, next, _ := a.cfg.Keys.sources(a.cfg.Data)
	if next.IsZero() {
		return usageErrorf("dbtrust kek rotate needs the new key: give it with --new-kek-file (or --new-kek-command, DBTRUST_NEW_KEK)")
	}
	if next.File != "" {
		if _, err := os.Stat(next.File); errors.Is(err, fs.ErrNotExist) {
			k, err := seal.CreateKeyFile(next.File)
			if err != nil {
				return fmt.Errorf("--new-kek-file: %w", err)
			}
			fmt.Fprintf(a.stdout, "created the new key-encryption key %s in %s (mode 0600); nothing was re-sealed yet.\n"+
				"Next: copy it to every replica as its --new-kek-file and send each one SIGHUP, then run this command again.\n",
				seal.KeyID(k), next.File)
			return nil
		}
	}
	d, err := a.openData(ctx, false)
	if err != nil {
		return err
	}
	defer d.store.Close()
	if d.keys.New == nil {
		return errors.New("the new key did not load: check --new-kek-file / --new-kek-command")
	}
	out := rotateOut{From: d.keys.Primary.ID(), To: d.keys.New.ID()}
	opt.OnBatch = func(p kek.Progress) {
		fmt.Fprintf(a.stderr, "%s: %d re-sealed of %d scanned\n", p.Table, p.Resealed, p.Scanned)
	}
	out.Tables, err = kek.Rotate(ctx, d.db, d.sealer, kek.Bindings(), opt)
	if err != nil {
		return fmt.Errorf("rotation to key-encryption key %s stopped (run the same command again to resume it): %w", out.To, err)
	}
	return a.print(out, func(t *table) {
		w := t.w
		t.header("TABLE", "SCANNED", "RE-SEALED")
		for _, p := range out.Tables {
			t.row(p.Table, strconv.Itoa(p.Scanned), strconv.Itoa(p.Resealed))
		}
		fmt.Fprintf(w, "every sealed value is now under key-encryption key %s; the old key %s opens nothing in this store.\n", out.To, out.From)
		fmt.Fprintln(w, "Next: on every replica make the new key its key (move the new key file onto the old one, or change what --kek-command prints) and send SIGHUP; then destroy the old key.")
	})
}

type statusOut struct {
	Keys     []keyOut       `json:"keys"`
	SealedBy map[string]int `json:"sealed_by"` // key ID ("" for values sealed before key IDs) -> values
	Held     []string       `json:"held"`
}

type keyOut struct {
	KeyID string `json:"key_id"`
	State string `json:"state"`
	Since string `json:"since"`
}

// kekStatus prints the store's KEKs and how many sealed values each seals,
// from a raw scan of the store.
func (a *app) kekStatus(ctx context.Context) error {
	d, err := a.openData(ctx, false)
	if err != nil {
		return err
	}
	defer d.store.Close()
	recs, err := d.db.KEKs(ctx)
	if err != nil {
		return err
	}
	out := statusOut{Held: d.sealer.IDs()}
	for _, r := range recs {
		out.Keys = append(out.Keys, keyOut{KeyID: r.KeyID, State: string(r.State), Since: ts(r.CreatedAt)})
	}
	if out.SealedBy, err = kek.Census(ctx, d.db); err != nil {
		return err
	}
	return a.print(out, func(t *table) {
		w := t.w
		t.header("KEY ID", "STATE", "SINCE", "SEALED VALUES")
		for _, k := range out.Keys {
			t.row(k.KeyID, k.State, k.Since, strconv.Itoa(out.SealedBy[k.KeyID]))
		}
		var others []string
		for id := range out.SealedBy {
			if id != "" && !slicesContainsKey(out.Keys, id) {
				others = append(others, id)
			}
		}
		sort.Strings(others)
		for _, id := range others {
			fmt.Fprintf(w, "%s\t(not recorded)\t-\t%d\n", id, out.SealedBy[id])
		}
		if n := out.SealedBy[""]; n > 0 {
			fmt.Fprintf(w, "(no key ID)\t-\t-\t%d\n", n)
		}
	})
}

func slicesContainsKey(ks []keyOut, id string) bool {
	for _, k := range ks {
		if k.KeyID == id {
			return true
		}
	}
	return false
}
