package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newRootCmd builds the command tree. Each command lives in a file of its
// own and is made by a newXCmd(a *app) *cobra.Command listed here.
//
// A command that reads or changes the account's data gets a backend with
// a.backend(ctx): the data folder (--data/--store, as the local operator of
// --account) or, with --server (DBTRUST_SERVER), that server's native API
// as the token's holder. Both answer with the client package's wire types,
// so that a command prints the same thing either way. Commands that only
// make sense on the data folder (account, migrate, store copy, serve) open
// it with a.openData or a.local.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "dbtrust",
		Short: "The TLS trust service for managed databases",
		Long: `dbtrust keeps a certificate authority per database instance, issues the server certificates
its nodes present, and hands clients the CA bundle they need to connect with full verification.

Every command works on the data folder (--data, --store) or, with --server and --token, through a
running server's API; -v says which. Exit codes: 0 ok, 1 error, 2 usage (a wrong command, flag or
value), 3 not found, 4 conflict, 5 permission denied, 6 unavailable (server or store unreachable).`,
		Version:           buildVersion(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
		Args:              cobra.ArbitraryArgs,
		RunE:              needsSubcommand,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.cfg.load(cmd, a.getenv); err != nil {
				return err
			}
			a.ran = true
			return nil
		},
	}
	a.cfg.registerGlobal(root.PersistentFlags())
	root.SetVersionTemplate("dbtrust {{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newServeCmd(a),
		newAccountCmd(a),
		newTokenCmd(a),
		newInstanceCmd(a),
		newCACmd(a),
		newRotateCmd(a),
		newPolicyCmd(a),
		newCertCmd(a),
		newRecipeCmd(a),
		newWebhookCmd(a),
		newAuditCmd(a),
		newClockCmd(a),
		newAgentCmd(a),
		newAccessKeyCmd(a),
		newMigrateCmd(a),
		newStoreCmd(a),
		newKEKCmd(a),
		newBackupCmd(a),
		newRestoreCmd(a),
		newVersionCmd(a),
		newHealthCmd(a),
		newDocsCmd(a),
	)
	a.withInstanceCompletion(root)
	return root
}

// group returns a command that only holds subcommands: run alone, or with
// an unknown subcommand, it is a usage error with suggestions.
func group(use, short string, aliases ...string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Aliases: aliases, Args: cobra.ArbitraryArgs, RunE: needsSubcommand}
}

func needsSubcommand(cmd *cobra.Command, args []string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	if len(args) == 0 {
		return usageErrorf("%s needs a command: %s (see '%s --help')", cmd.CommandPath(), joinOr(names), cmd.CommandPath())
	}
	return usageErrorf("unknown command %q for %s%s", args[0], cmd.CommandPath(), didYouMean(args[0], names))
}

// flagError turns a flag parsing error into a usage error in plain words,
// with a suggestion for a mistyped flag name, instead of the flag list.
func flagError(cmd *cobra.Command, err error) error {
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	switch e := err.(type) {
	case *pflag.NotExistError:
		return usageErrorf("%s has no flag --%s%s (see '%s --help')", cmd.CommandPath(), e.GetSpecifiedName(), didYouMean(e.GetSpecifiedName(), names), cmd.CommandPath())
	case *pflag.InvalidValueError:
		return usageErrorf("--%s %q: %s", e.GetFlag().Name, e.GetValue(), valueWanted(e.GetFlag()))
	case *pflag.ValueRequiredError:
		return usageErrorf("--%s needs a value (see '%s --help')", e.GetSpecifiedName(), cmd.CommandPath())
	}
	return usageErrorf("%v (see '%s --help')", err, cmd.CommandPath())
}
