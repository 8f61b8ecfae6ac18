package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/seal"
)

// kekFlags are where a process's key-encryption keys come from.
type kekFlags struct {
	file, command       string // --kek-file, --kek-command
	value               string // DBTRUST_KEK
	newFile, newCommand string // --new-kek-file, --new-kek-command
	newValue            string // DBTRUST_NEW_KEK
}

// register adds the key flags; the values of DBTRUST_KEK and
// DBTRUST_NEW_KEK (the keys themselves) are read by config.load.
func (k *kekFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&k.file, "kek-file", "", "key-encryption key file (default DATA/kek)")
	fs.StringVar(&k.command, "kek-command", "", "a shell command that prints the key-encryption key, such as a KMS or Vault decrypt call; the key may also be given in env DBTRUST_KEK")
	fs.StringVar(&k.newFile, "new-kek-file", "", "during a KEK rotation, the new key's file; a file that does not exist yet is no key")
	fs.StringVar(&k.newCommand, "new-kek-command", "", "during a KEK rotation, a shell command that prints the new key (or the key in env DBTRUST_NEW_KEK)")
	for name, env := range map[string]string{"kek-file": "DBTRUST_KEK_FILE", "kek-command": "DBTRUST_KEK_COMMAND",
		"new-kek-file": "DBTRUST_NEW_KEK_FILE", "new-kek-command": "DBTRUST_NEW_KEK_COMMAND"} {
		withEnv(fs, name, env)
	}
}

// sources returns where the key and the new key come from; the key's file
// defaults to DATA/kek.
func (k *kekFlags) sources(dataDir string) (primary, next seal.Source, defaultFile bool) {
	primary = pickSource("", "DBTRUST_KEK", k.command, k.value, k.file)
	if primary.IsZero() {
		path := filepath.Join(dataDir, "kek")
		primary, defaultFile = seal.Source{File: path, Name: "the key file " + path}, true
	}
	return primary, pickSource("new-", "DBTRUST_NEW_KEK", k.newCommand, k.newValue, k.newFile), defaultFile
}

// pickSource takes the first of a command, a value (from the environment
// variable env) and a file that is set, named by its flag (prefixed "new-"
// for the new key) or variable.
func pickSource(prefix, env, command, value, file string) seal.Source {
	switch {
	case command != "":
		return seal.Source{Command: command, Name: "--" + prefix + "kek-command"}
	case value != "":
		return seal.Source{Value: value, Name: env}
	case file != "":
		return seal.Source{File: file, Name: "--" + prefix + "kek-file " + file}
	}
	return seal.Source{}
}

// loadKeys loads the keys. A missing key file is created only when the store
// holds nothing sealed; otherwise it is an error that says what to do. A
// missing new-key file is no new key.
func (k *kekFlags) loadKeys(ctx context.Context, dataDir string, found kek.Found) (keys kek.Keys, created bool, err error) {
	primary, next, defaultFile := k.sources(dataDir)
	var raw []byte
	if primary.File != "" && !found.Holds() {
		raw, created, err = seal.LoadOrCreateKeyFile(primary.File)
	} else {
		raw, err = primary.Load(ctx)
	}
	if errors.Is(err, fs.ErrNotExist) && found.Holds() {
		where := "--kek-file"
		if defaultFile {
			where = "the data folder"
		}
		return keys, false, fmt.Errorf("the store holds keys sealed under key-encryption key %s, but %s has no key file at %s. Nothing was written. "+
			"Restore the KEK file from your backup (or give --kek-file, --kek-command or DBTRUST_KEK); a new key would open none of them",
			storeKeyID(found), where, primary.File)
	}
	if err != nil {
		return keys, false, fmt.Errorf("key-encryption key: %w", err)
	}
	keys.PrimaryFrom = primary.Name
	if keys.Primary, err = seal.New(raw); err != nil {
		return keys, false, err
	}
	clear(raw)
	if next.IsZero() {
		return keys, created, nil
	}
	raw, err = next.Load(ctx)
	if errors.Is(err, fs.ErrNotExist) && next.File != "" {
		return keys, created, nil // placed before a rotation, read on SIGHUP
	}
	if err != nil {
		return keys, false, fmt.Errorf("new key-encryption key: %w", err)
	}
	keys.NewFrom = next.Name
	keys.New, err = seal.New(raw)
	clear(raw)
	return keys, created, err
}

func storeKeyID(f kek.Found) string {
	if r, ok := f.Current(kek.Current); ok {
		return r.KeyID
	}
	if f.Sample != nil && seal.SealedBy(f.Sample.Value) != "" {
		return seal.SealedBy(f.Sample.Value)
	}
	return "(unrecorded)"
}

// keyStore is the part of the store KEK checks use.
type keyStore interface{ kek.Store }

// checkKeys loads the keys and checks them against the store; it writes
// nothing (but the key file of a store that holds nothing yet).
func checkKeys(ctx context.Context, k *kekFlags, dataDir string, st keyStore) (kek.Keys, kek.Plan, bool, error) {
	found, err := kek.Inspect(ctx, st)
	if err != nil {
		return kek.Keys{}, kek.Plan{}, false, fmt.Errorf("reading the store's key records: %w", err)
	}
	keys, created, err := k.loadKeys(ctx, dataDir, found)
	if err != nil {
		return keys, kek.Plan{}, false, err
	}
	plan, err := kek.Check(found, keys, kek.Bindings(), time.Now())
	return keys, plan, created, err
}

// reloadKeys re-reads the key sources and, when they check out against the
// store, gives ring the new keys; on any error ring is left as it was.
func reloadKeys(ctx context.Context, k *kekFlags, dataDir string, st keyStore, ring *seal.Keyring) error {
	keys, plan, _, err := checkKeys(ctx, k, dataDir, st)
	if err != nil {
		return err
	}
	next, err := kek.Apply(ctx, st, plan, keys, kek.Bindings(), time.Now())
	if err != nil {
		return err
	}
	ring.Adopt(next)
	return nil
}
