package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

// instanceOut is the native API's instance, with its CAs when shown alone.
type instanceOut struct {
	client.Instance
	CAs []client.CA `json:"cas,omitempty"`
}

func newInstanceCmd(a *app) *cobra.Command {
	cmd := group("instance", "Manage database instances and their CAs", "instances")
	cmd.AddCommand(newInstanceCreateCmd(a), newInstanceImportCmd(a), newInstanceListCmd(a), newInstanceShowCmd(a), newInstanceUpdateCmd(a), newInstanceDeleteCmd(a))
	return cmd
}

func newInstanceCreateCmd(a *app) *cobra.Command {
	var req client.CreateInstanceRequest
	var endpoints []string
	noTLS := false
	cmd := &cobra.Command{
		Use:   "create NAME [--engine ENGINE]",
		Short: "Create an instance and its first CA",
		Long: `Create an instance and its first CA. The CA's lifetime and key type are --ca-validity and
--ca-key-type (DBTRUST_CA_VALIDITY, DBTRUST_CA_KEY_TYPE) on the data folder, exactly as serve
makes them; through --server the server's own settings apply, and --ca-key-type is sent along.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if req.Name != "" && req.Name != args[0] {
					return usageErrorf("the name is given twice (%q and --name %q): give it once", args[0], req.Name)
				}
				req.Name = args[0]
			}
			tls := !noTLS
			req.TLS, req.CAKeyType = &tls, a.cfg.CAKeyType
			eps, err := parseEndpoints(endpoints)
			if err != nil {
				return err
			}
			req.Endpoints = eps
			b, done, err := a.backend(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			inst, err := b.CreateInstance(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.showInstance(cmd.Context(), b, inst)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "instance name (or give it as the argument)")
	f.StringVar(&req.ID, "id", "", "instance ID (default: a new UUID); a Huawei Cloud instance ID such as 0123...cdefin02 for DDS and DCS users")
	f.StringVar(&req.Engine, "engine", "pg", "engine: pg, mysql, redis, valkey, mongodb, kafka, opensearch")
	f.StringVar(&req.Version, "version", "", "engine version (default: the engine's current)")
	f.StringVar(&req.Region, "region", "", "region slug")
	f.StringVar(&req.Size, "size", "", "size slug")
	f.IntVar(&req.NumNodes, "nodes", 1, "number of nodes")
	f.BoolVar(&noTLS, "no-tls", false, "the instance does not serve TLS")
	f.StringSliceVar(&req.Tags, "tag", nil, "tag (repeatable, or comma-separated)")
	addEndpointFlag(f, &endpoints)
	return cmd
}

// addEndpointFlag adds the repeatable --endpoint flag.
func addEndpointFlag(f *pflag.FlagSet, endpoints *[]string) {
	f.StringArrayVar(endpoints, "endpoint", nil, "where clients connect: host:port or host:port,role=NAME (repeatable; an IPv6 host in brackets); "+
		"the default names of issued certificates and the host of recipes (default: a generated host and the engine's port)")
}

// parseEndpoints reads --endpoint values; nil for none.
func parseEndpoints(args []string) ([]client.Endpoint, error) {
	var out []client.Endpoint
	for _, s := range args {
		e, err := dbtrust.ParseEndpoint(s)
		if err != nil {
			return nil, usageErrorf("--endpoint %q: %s", s, dbtrust.ErrorMessage(err))
		}
		out = append(out, client.Endpoint(e))
	}
	return out, nil
}

func newInstanceUpdateCmd(a *app) *cobra.Command {
	var endpoints []string
	var clear bool
	cmd := &cobra.Command{
		Use:   "update INSTANCE --endpoint HOST:PORT... | --clear-endpoints",
		Short: "Change an instance's endpoints (the list given replaces the old one)",
		Long: `Change an instance's endpoints: the --endpoint list given replaces the old one, and
--clear-endpoints brings back the generated default. Certificates issued from now on name the new
endpoints; those already issued keep their names (agents renew at once when an endpoint is missing
from their certificate).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if clear == (len(endpoints) > 0) {
				return usageErrorf("give the new endpoints with --endpoint (repeatable), or --clear-endpoints for the generated default")
			}
			eps, err := parseEndpoints(endpoints)
			if err != nil {
				return err
			}
			if eps == nil {
				eps = []client.Endpoint{}
			}
			b, done, err := a.backend(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			inst, err := instance(cmd.Context(), b, args[0])
			if err != nil {
				return err
			}
			inst, err = b.UpdateInstance(cmd.Context(), inst.ID, client.UpdateInstanceRequest{Endpoints: &eps})
			if err != nil {
				return err
			}
			return a.showInstance(cmd.Context(), b, inst)
		},
	}
	addEndpointFlag(cmd.Flags(), &endpoints)
	cmd.Flags().BoolVar(&clear, "clear-endpoints", false, "drop every endpoint: back to the generated host and the engine's port")
	return cmd
}

func newInstanceListCmd(a *app) *cobra.Command {
	var tag string
	cmd := &cobra.Command{
		Use:   "list [--tag TAG]",
		Short: "List the account's instances",
		Args:  noArgs,
		RunE: a.onBackend(func(ctx context.Context, b backend, args []string) error {
			list, err := b.ListInstances(ctx, tag)
			if err != nil {
				return err
			}
			return a.print(client.InstanceList{Instances: list}, func(t *table) {
				t.header("ID", "NAME", "ENGINE", "VERSION", "REGION", "NODES", "TLS", "HOST", "CREATED")
				for _, i := range list {
					t.row(i.ID, i.Name, i.Engine, i.Version, i.Region, strconv.Itoa(i.NumNodes), strconv.FormatBool(i.TLS), i.Host, i.CreatedAt)
				}
			})
		}),
	}
	cmd.Flags().StringVar(&tag, "tag", "", "only instances with this tag")
	return cmd
}

func newInstanceShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show INSTANCE",
		Short: "Show an instance (by name, ID or unique ID prefix) with each CA's state, fingerprint and validity",
		Args:  exactArgs(1),
		RunE: a.onInstance(func(ctx context.Context, b backend, inst client.Instance, args []string) error {
			return a.showInstance(ctx, b, inst)
		}),
	}
}

func (a *app) showInstance(ctx context.Context, b backend, inst client.Instance) error {
	cas, err := b.ListCAs(ctx, inst.ID)
	if err != nil {
		return err
	}
	out := instanceOut{Instance: inst, CAs: cas.CAs}
	return a.print(out, func(t *table) {
		for _, f := range [][2]string{{"id", inst.ID}, {"name", inst.Name}, {"engine", inst.Engine + " " + inst.Version},
			{"region", inst.Region}, {"size", inst.Size}, {"nodes", strconv.Itoa(inst.NumNodes)}, {"tls", strconv.FormatBool(inst.TLS)},
			{"host", inst.Host + ":" + strconv.Itoa(inst.Port)}, {"tags", strings.Join(inst.Tags, ",")}, {"created", inst.CreatedAt}} {
			t.field(f[0], f[1])
		}
		for _, e := range inst.Endpoints {
			t.field("endpoint", dbtrust.Endpoint(e).String())
		}
		for _, ca := range cas.CAs {
			t.field("ca "+ca.State, ca.ID+" "+ca.KeyType+", sha256 "+ca.Fingerprint+", "+ca.NotBefore+" to "+ca.NotAfter)
		}
	})
}

func newInstanceDeleteCmd(a *app) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete INSTANCE",
		Short: "Delete an instance with its CAs and certificates (asks first; --yes when not on a terminal)",
		Args:  exactArgs(1),
		RunE: a.onInstance(func(ctx context.Context, b backend, inst client.Instance, args []string) error {
			if err := a.confirm(yes, "delete instance "+inst.Name+" ("+inst.ID+") with its CAs and certificates"); err != nil {
				return err
			}
			if err := b.DeleteInstance(ctx, inst.ID); err != nil {
				return err
			}
			return a.print(map[string]string{"deleted": inst.ID}, func(t *table) { t.field("deleted", inst.Name+" ("+inst.ID+")") })
		}),
	}
	addYes(cmd, &yes)
	return cmd
}
