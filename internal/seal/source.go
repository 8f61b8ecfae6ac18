package seal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Source is where a KEK comes from: exactly one of a key file, a value (an
// environment variable's), or a command whose standard output is the key.
// Every form holds the key's text form (base64 of 32 bytes).
type Source struct {
	File    string
	Value   string
	Command string // run with sh -c; its output is read, never logged
	// Name is how messages call the source, such as "--kek-file" or
	// "DBTRUST_KEK".
	Name string
}

// IsZero reports whether no source is set.
func (s Source) IsZero() bool { return s.File == "" && s.Value == "" && s.Command == "" }

// CommandTimeout bounds a --kek-command run.
const CommandTimeout = 30 * time.Second

// Load reads the key. A missing file (or a missing folder) is an error that
// wraps fs.ErrNotExist and says so plainly.
func (s Source) Load(ctx context.Context) ([]byte, error) {
	switch {
	case s.Command != "":
		return s.runCommand(ctx)
	case s.Value != "":
		k, err := DecodeKey(s.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		return k, nil
	case s.File != "":
		if err := checkDir(s.File); err != nil {
			return nil, err
		}
		k, err := readKeyFile(s.File)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: the key file %s does not exist: %w", s.Name, s.File, fs.ErrNotExist)
		}
		return k, err
	}
	return nil, fmt.Errorf("%s: no key-encryption key given", s.Name)
}

func (s Source) runCommand(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", s.Command)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		msg, _, _ := strings.Cut(strings.TrimSpace(errOut.String()), "\n")
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s failed: %s", s.Name, msg)
	}
	k, err := DecodeKey(out.String())
	clear(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: its output is not a key: %w", s.Name, err)
	}
	return k, nil
}

// checkDir says plainly when the folder of a key file is missing.
func checkDir(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the folder %s of the key file %s does not exist: create it first (mkdir -p -m 700 %s) or name another file: %w", dir, filepath.Base(path), dir, fs.ErrNotExist)
	}
	if err == nil && !st.IsDir() {
		return fmt.Errorf("%s is not a folder, so it cannot hold the key file %s", dir, filepath.Base(path))
	}
	return err
}

// readKeyFile reads a key file, refusing one readable by group or others.
func readKeyFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("seal: key file %s is accessible by group or others (mode %o); chmod 600 it", path, st.Mode().Perm())
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeKey(string(text))
}

// CreateKeyFile writes a fresh KEK to path (mode 0600) and returns it; it
// fails, wrapping fs.ErrExist, when path exists.
func CreateKeyFile(path string) ([]byte, error) {
	if err := checkDir(path); err != nil {
		return nil, err
	}
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	if err := createKeyFile(path, k); err != nil {
		return nil, err
	}
	return k, nil
}
