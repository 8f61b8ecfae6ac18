package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newDocsCmd(a *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "docs DIR [--format markdown|man]",
		Short: "Write the command reference: a markdown page or a man page per command",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			var err error
			switch format {
			case "markdown":
				err = doc.GenMarkdownTree(root, dir)
			case "man":
				err = doc.GenManTree(root, &doc.GenManHeader{Title: "DBTRUST", Section: "1", Source: "dbtrust " + buildVersion()}, dir)
			default:
				return usageErrorf("--format %q: want markdown or man", format)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote the %s reference to %s\n", format, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "markdown", "markdown or man")
	return cmd
}
