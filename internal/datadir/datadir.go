// Package datadir prepares the folders dbtrust keeps secrets and databases
// in: readable by the owner only, whatever mode an existing folder had.
package datadir

import (
	"fmt"
	"os"
)

// Prepare creates dir (and its parents) if needed and sets its mode to 0700,
// also when it already existed with a wider one.
func Prepare(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the folder %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make the folder %s private (mode 0700): %w", dir, err)
	}
	return nil
}

// PrivateFile creates path as an empty file of mode 0600 if it does not exist
// and sets an existing one to 0600, so that a program that later opens it
// (SQLite, which gives its -wal and -shm files the database file's mode)
// keeps it private.
func PrivateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("make %s private (mode 0600): %w", path, err)
	}
	return nil
}
