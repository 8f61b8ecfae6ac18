package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// addYes adds --yes to a destructive command.
func addYes(cmd *cobra.Command, yes *bool) {
	cmd.Flags().BoolVarP(yes, "yes", "y", false, "do it without asking (needed when standard input is not a terminal)")
}

// confirm asks before a destructive change: on a terminal it asks what,
// and goes on only on "y" or "yes"; elsewhere it needs --yes.
func (a *app) confirm(yes bool, what string) error {
	if yes {
		return nil
	}
	if !a.interactive {
		return usageErrorf("%s: this cannot be undone; pass --yes to confirm", what)
	}
	fmt.Fprintf(a.stderr, "%s? This cannot be undone. [y/N] ", what)
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return usageErrorf("%s: not confirmed, nothing changed", what)
}

// checkWritable refuses to overwrite an existing file unless force; "-"
// (standard output) and "" (not written) always pass.
func checkWritable(path string, force bool) error {
	if path == "" || path == "-" || force {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return usageErrorf("%s exists: pass --force to replace it", path)
	}
	return nil
}

// writeFile writes data to path with mode, replacing the file whole and
// creating its folder if needed (e.g. ~/.postgresql for libpq's root.crt);
// "-" writes to stdout.
func (a *app) writeFile(path string, data []byte, mode os.FileMode) error {
	if path == "-" {
		_, err := a.stdout.Write(data)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dbtrust-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
