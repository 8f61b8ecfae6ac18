package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

// withBackend runs fn on the command's backend (data folder or --server).
func (a *app) withBackend(cmd *cobra.Command, fn func(ctx context.Context, b backend) error) error {
	b, done, err := a.backend(cmd.Context())
	if err != nil {
		return err
	}
	defer done()
	return fn(cmd.Context(), b)
}

func newWebhookCmd(a *app) *cobra.Command {
	cmd := group("webhook", "Notifications: expiring CAs and certificates, rotation stages, revocations, adoption", "webhooks")
	var req client.CreateWebhookRequest
	create := &cobra.Command{
		Use:   "create --url URL [--secret S] [--event E]... [--expiry-days 30,7,1]",
		Short: "Register a webhook (the signing secret is shown once)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withBackend(cmd, func(ctx context.Context, b backend) error {
				w, err := b.CreateWebhook(ctx, req)
				if err != nil {
					return err
				}
				return a.print(w, func(t *table) {
					t.field("webhook", w.ID)
					t.field("url", w.URL)
					t.field("events", strings.Join(w.Events, ", "))
					t.field("expiry days", fmt.Sprint(w.ExpiryDays))
					t.field("secret", w.Secret)
					t.field("", "(shown only now: the receiver checks X-Dbtrust-Signature with it)")
				})
			})
		},
	}
	create.Flags().StringVar(&req.URL, "url", "", "where to POST events: https, or http to a loopback address")
	create.Flags().StringVar(&req.Secret, "secret", "", "HMAC-SHA256 signing secret, 16 to 256 characters (default: dbtrust makes one)")
	create.Flags().StringSliceVar(&req.Events, "event", nil, "an event to send, repeatable (default every one: "+strings.Join(dbtrust.EventTypes, ", ")+")")
	create.Flags().IntSliceVar(&req.ExpiryDays, "expiry-days", nil, "days before expiry at which expiring events fire (default 30,7,1)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the account's webhooks",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withBackend(cmd, func(ctx context.Context, b backend) error {
				list, err := b.ListWebhooks(ctx)
				if err != nil {
					return err
				}
				return a.print(client.WebhookList{Webhooks: list}, func(t *table) {
					t.header("ID", "URL", "EVENTS", "EXPIRY DAYS", "CREATED")
					for _, w := range list {
						t.row(w.ID, w.URL, strings.Join(w.Events, ","), fmt.Sprint(w.ExpiryDays), w.CreatedAt)
					}
				})
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete WEBHOOK_ID",
		Short: "Remove a webhook and its pending deliveries",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withBackend(cmd, func(ctx context.Context, b backend) error {
				if err := b.DeleteWebhook(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "webhook %s deleted, with its pending deliveries\n", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(create, list, del, newDeliveriesCmd(a))
	return cmd
}

func newDeliveriesCmd(a *app) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "deliveries WEBHOOK_ID [--limit N]",
		Short: "The webhook's delivery log, newest first: each event, its state, attempts and last outcome",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withBackend(cmd, func(ctx context.Context, b backend) error {
				list, err := b.WebhookDeliveries(ctx, args[0], limit)
				if err != nil {
					return err
				}
				return a.print(client.DeliveryList{Deliveries: list}, func(t *table) {
					t.header("EVENT", "EVENT ID", "STATE", "ATTEMPTS", "LAST STATUS", "LAST ERROR", "CREATED")
					for _, d := range list {
						t.row(d.EventType, d.EventID, d.State, strconv.Itoa(d.Attempts), strconv.Itoa(d.LastStatus), d.LastError, d.CreatedAt)
					}
				})
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", dbtrust.DefaultAuditLimit, "how many deliveries, 1 to 1000")
	return cmd
}

func newClockCmd(a *app) *cobra.Command {
	cmd := group("clock", "Read or move the emulated clock of a server started with --clock emulated (through --server)")
	run := func(move *client.MoveClockRequest) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, err := a.remote()
			if err != nil {
				return err
			}
			var cl client.Clock
			switch {
			case move == nil:
				cl, err = c.Clock(cmd.Context())
			case move.Advance != "":
				cl, err = c.MoveClock(cmd.Context(), client.MoveClockRequest{Advance: args[0]})
			default:
				cl, err = c.MoveClock(cmd.Context(), client.MoveClockRequest{Now: args[0]})
			}
			if err != nil {
				return err
			}
			return a.print(cl, func(t *table) {
				t.field("now", cl.Now)
				t.field("ahead of real time", cl.Offset)
			})
		}
	}
	cmd.AddCommand(
		&cobra.Command{Use: "show", Short: "The server's emulated time", Args: noArgs, RunE: run(nil)},
		&cobra.Command{Use: "advance DURATION", Short: "Move the clock forward by DURATION (720h, 90m)", Args: exactArgs(1),
			RunE: run(&client.MoveClockRequest{Advance: "yes"})},
		&cobra.Command{Use: "set TIME", Short: "Move the clock forward to TIME (RFC 3339, such as 2030-01-01T00:00:00Z)", Args: exactArgs(1),
			RunE: run(&client.MoveClockRequest{Now: "yes"})},
	)
	return cmd
}
