package main

import (
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// app is one run of the program: its environment, its configuration once
// loaded, and what the commands share.
type app struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// interactive: stdin is a terminal, so destructive commands may ask.
	interactive bool
	cfg         *config
	// ran is set once the configuration is loaded and a command starts:
	// errors before it are usage errors.
	ran bool
}

// run is the whole program: main only passes it the process's environment
// and turns the error it returns into an exit code. run reports the error
// on stderr itself (as JSON with -o json).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	a := &app{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, interactive: isTerminal(stdin), cfg: &config{}}
	root := newRootCmd(a)
	root.SetArgs(args[1:])
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		if !a.ran {
			err = asUsageError(err)
		}
		a.reportError(err)
	}
	return err
}

// isTerminal reports whether r is a character device (a terminal).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// noArgs refuses positional arguments, as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q: usage: %s", cmd.CommandPath(), args[0], cmd.UseLine())
	}
	return nil
}

// exactArgs wants n positional arguments, as named in the command's Use.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("usage: %s", cmd.UseLine())
		}
		return nil
	}
}
