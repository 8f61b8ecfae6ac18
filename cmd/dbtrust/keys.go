package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/selftls"
)

// kekFlags are where a process's key-encryption keys come from.
type kekFlags struct {
	file, command       string // --kek-file, --kek-command
	value               string // DBTRUST_KEK
	newFile, newCommand string // --new-kek-file, --new-kek-command
	newValue            string // DBTRUST_NEW_KEK
}

func (k *kekFlags) register(fs *flag.FlagSet, env envFunc) {
	fs.StringVar(&k.file, "kek-file", env("DBTRUST_KEK_FILE"), "key-encryption key file (env DBTRUST_KEK_FILE; default DATA/kek)")
	fs.StringVar(&k.command, "kek-command", env("DBTRUST_KEK_COMMAND"), "a shell command that prints the key-encryption key, such as a KMS or Vault decrypt call (env DBTRUST_KEK_COMMAND); the key may also be given in env DBTRUST_KEK")
	fs.StringVar(&k.newFile, "new-kek-file", env("DBTRUST_NEW_KEK_FILE"), "during a KEK rotation, the new key's file; a file that does not exist yet is no key (env DBTRUST_NEW_KEK_FILE)")
	fs.StringVar(&k.newCommand, "new-kek-command", env("DBTRUST_NEW_KEK_COMMAND"), "during a KEK rotation, a shell command that prints the new key (env DBTRUST_NEW_KEK_COMMAND; or the key in env DBTRUST_NEW_KEK)")
	k.value, k.newValue = env("DBTRUST_KEK"), env("DBTRUST_NEW_KEK")
}

// sources returns where the key and the new key come from; the key's file
// defaults to DATA/kek.
func (k *kekFlags) sources(dataDir string) (primary, next seal.Source, defaultFile bool) {
	switch {
	case k.command != "":
		primary = seal.Source{Command: k.command, Name: "--kek-command"}
	case k.value != "":
		primary = seal.Source{Value: k.value, Name: "DBTRUST_KEK"}
	case k.file != "":
		primary = seal.Source{File: k.file, Name: "--kek-file " + k.file}
	default:
		primary, defaultFile = seal.Source{File: filepath.Join(dataDir, "kek"), Name: "the key file " + filepath.Join(dataDir, "kek")}, true
	}
	switch {
	case k.newCommand != "":
		next = seal.Source{Command: k.newCommand, Name: "--new-kek-command"}
	case k.newValue != "":
		next = seal.Source{Value: k.newValue, Name: "DBTRUST_NEW_KEK"}
	case k.newFile != "":
		next = seal.Source{File: k.newFile, Name: "--new-kek-file " + k.newFile}
	}
	return primary, next, defaultFile
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

// sealedBindings gives KEK rotation the binding of every kind of sealed
// value the store keeps, by table (see sqlstore's sealedColumns).
func sealedBindings() kek.AADs {
	return kek.AADs{
		"cas":               func(r []string) []byte { return dbtrust.CAKeyAAD(r[0]) },
		"access_keys":       func(r []string) []byte { return accesskey.SecretAAD(r[0], r[1], dbtrust.Role(r[2])) },
		"signing_keys":      func(r []string) []byte { return dbtrust.SigningKeyAAD(r[0], r[1]) },
		"astra_credentials": func(r []string) []byte { return credential.KeyStoreAAD(r[0]) },
		"serving_cas":       func(r []string) []byte { return selftls.KeyAAD(r[0]) },
	}
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
	plan, err := kek.Check(found, keys, sealedBindings(), time.Now())
	return keys, plan, created, err
}

// reloadKeys re-reads the key sources and, when they check out against the
// store, gives ring the new keys; on any error ring is left as it was.
func reloadKeys(ctx context.Context, k *kekFlags, dataDir string, st keyStore, ring *seal.Keyring) error {
	keys, plan, _, err := checkKeys(ctx, k, dataDir, st)
	if err != nil {
		return err
	}
	next, err := kek.Apply(ctx, st, plan, keys, sealedBindings(), time.Now())
	if err != nil {
		return err
	}
	ring.Adopt(next)
	return nil
}
