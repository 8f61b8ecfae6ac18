package main

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

func newAuditCmd(a *app) *cobra.Command {
	cmd := group("audit", "Read, export and verify the audit log")
	cmd.AddCommand(newAuditListCmd(a), newAuditVerifyCmd(a), newAuditExportCmd(a))
	return cmd
}

func newAuditListCmd(a *app) *cobra.Command {
	var q client.AuditQuery
	list := &cobra.Command{
		Use:   "list [--actor A] [--action A] [--resource R] [--since T] [--until T] [--limit N] [--cursor C]",
		Short: "List the account's audit events, newest first, one page at a time",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, done, err := a.backend(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			page, err := b.Audit(cmd.Context(), q)
			if err != nil {
				return err
			}
			return a.print(page, func(t *table) {
				t.header("SEQ", "TIME", "ACTOR", "ACTION", "RESOURCE", "OUTCOME", "COUNT")
				for _, e := range page.Events {
					t.row(strconv.FormatInt(e.Seq, 10), e.Time, e.Actor, e.Action, e.Resource, e.Outcome, strconv.FormatInt(e.Count, 10))
				}
				if page.NextCursor != "" {
					t.field("", "")
					t.field("next page", "--cursor "+page.NextCursor)
				}
			})
		},
	}
	f := list.Flags()
	f.StringVar(&q.Actor, "actor", "", "only events of this actor (token:<id>, accesskey:<AK>, operator, ip:<address>)")
	f.StringVar(&q.Action, "action", "", "only events of this action (token.create, access.denied, auth.failed, ...)")
	f.StringVar(&q.Resource, "resource", "", "only events about this resource (instance/<id>, ...)")
	f.StringVar(&q.Since, "since", "", "only events at or after this time (RFC 3339, e.g. 2026-01-02T15:04:05Z)")
	f.StringVar(&q.Until, "until", "", "only events before this time (RFC 3339)")
	f.IntVar(&q.Limit, "limit", dbtrust.DefaultAuditLimit, fmt.Sprintf("events per page, 1 to %d", dbtrust.MaxAuditLimit))
	f.StringVar(&q.Cursor, "cursor", "", "the page after the one that printed this cursor")
	return list
}

// auditVerifyOut is what audit verify prints.
type auditVerifyOut struct {
	Intact   bool   `json:"intact"`
	Events   int64  `json:"events"`
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	BadSeq   int64  `json:"bad_seq,omitempty"`
	BadID    int64  `json:"bad_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

func newAuditVerifyCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check the whole audit hash chain; exit 0 when intact, 1 naming the first bad event",
		Long: `Walk the audit log in chain order and check every link: positions without gaps, each event's
predecessor hash, each event's own hash over its contents, and the chain's head. An intact chain
prints the number of events and the head hash (record it elsewhere: a chain rewritten whole from
some point on verifies again, but its head hash changes). A broken one names the first bad event
and exits 1.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.localOnly("dbtrust audit verify"); err != nil {
				return err
			}
			d, err := a.openData(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer d.store.Close()
			rep, err := dbtrust.NewService(d.store, d.sealer, a.cfg.serviceOptions(nil)).VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			out := auditVerifyOut{Intact: rep.Broken == nil, Events: rep.Events, HeadSeq: rep.HeadSeq, HeadHash: rep.HeadHash}
			if b := rep.Broken; b != nil {
				out.BadSeq, out.BadID, out.Reason = b.Seq, b.ID, b.Reason
			}
			if err := a.print(out, func(t *table) {
				if out.Intact {
					t.field("audit chain", fmt.Sprintf("intact: %d events", out.Events))
					t.field("head", fmt.Sprintf("%d %s", out.HeadSeq, out.HeadHash))
					return
				}
				t.field("audit chain", "BROKEN")
				t.field("first bad event", fmt.Sprintf("%d (row id %d)", out.BadSeq, out.BadID))
				t.field("why", out.Reason)
			}); err != nil {
				return err
			}
			if !out.Intact {
				return fmt.Errorf("the audit chain is broken at event %d: %s; restore the audit table from a backup and find out who wrote to the database", out.BadSeq, out.Reason)
			}
			return nil
		},
	}
}

func newAuditExportCmd(a *app) *cobra.Command {
	var after int64
	cmd := &cobra.Command{
		Use:   "export [--after SEQ]",
		Short: "Write every account's audit events as JSON lines, in chain order, for a SIEM",
		Long: `Write the audit chain, every account's events and the refused requests, one JSON object a line
(the fields of GET /v1/audit's events, with seq, prev_hash and hash, so that the receiver can check
the chain too). --after SEQ starts after that position: pass the last seq exported to ship only
what is new.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.localOnly("dbtrust audit export"); err != nil {
				return err
			}
			d, err := a.openData(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer d.store.Close()
			svc := dbtrust.NewService(d.store, d.sealer, a.cfg.serviceOptions(nil))
			enc := json.NewEncoder(a.stdout)
			for {
				page, err := svc.AuditChainPage(cmd.Context(), after, dbtrust.MaxAuditLimit)
				if err != nil {
					return err
				}
				for _, e := range page {
					if err := enc.Encode(client.FromAuditEvent(e)); err != nil {
						return err
					}
					after = e.Seq
				}
				if len(page) < dbtrust.MaxAuditLimit {
					return nil
				}
			}
		},
	}
	cmd.Flags().Int64Var(&after, "after", 0, "export the events after this chain position")
	return cmd
}
