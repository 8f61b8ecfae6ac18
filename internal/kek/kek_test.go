package kek_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/selftls"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

var now = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

func rec(t *testing.T, s *seal.AESGCM, st kek.State) kek.Record {
	t.Helper()
	r, err := kek.NewRecord(s, st, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCheck decides, for what a store holds and the keys a process holds,
// whether the process may run, which key it seals under and what it records.
func TestCheck(t *testing.T) {
	t.Parallel()
	rawA, _ := seal.NewKey()
	a, _ := seal.New(rawA)
	b, c := servicetest.Sealer(t), servicetest.Sealer(t)
	legacy := sealV1(t, rawA, []byte("key"), dbtrust.CAKeyAAD("ca-1"))
	legacySample := &kek.Sealed{Table: "cas", Key: "ca-1", Ref: []string{"ca-1"}, Value: legacy}
	tests := []struct {
		name     string
		found    kek.Found
		keys     kek.Keys
		mismatch bool
		sealing  *seal.AESGCM
		adds     []kek.State
	}{
		{"new store", kek.Found{}, kek.Keys{Primary: a}, false, a, []kek.State{kek.Current}},
		{"same key", kek.Found{Records: []kek.Record{rec(t, a, kek.Current)}}, kek.Keys{Primary: a}, false, a, nil},
		{"other key", kek.Found{Records: []kek.Record{rec(t, a, kek.Current)}}, kek.Keys{Primary: b}, true, nil, nil},
		{"a forged record", kek.Found{Records: []kek.Record{{KeyID: b.ID(), State: kek.Current, Verifier: rec(t, a, kek.Current).Verifier}}}, kek.Keys{Primary: b}, true, nil, nil},
		{"a new key starts a rotation", kek.Found{Records: []kek.Record{rec(t, a, kek.Current)}}, kek.Keys{Primary: a, New: b}, false, b, []kek.State{kek.Next}},
		{"rotating, both keys", kek.Found{Records: []kek.Record{rec(t, a, kek.Current), rec(t, b, kek.Next)}}, kek.Keys{Primary: a, New: b}, false, b, nil},
		{"rotating, old key only", kek.Found{Records: []kek.Record{rec(t, a, kek.Current), rec(t, b, kek.Next)}}, kek.Keys{Primary: a}, true, nil, nil},
		{"rotating to another key", kek.Found{Records: []kek.Record{rec(t, a, kek.Current), rec(t, b, kek.Next)}}, kek.Keys{Primary: a, New: c}, true, nil, nil},
		{"rotated, replica still given both", kek.Found{Records: []kek.Record{rec(t, b, kek.Current)}}, kek.Keys{Primary: a, New: b}, false, b, nil},
		{"rotated, replica given the old key only", kek.Found{Records: []kek.Record{rec(t, b, kek.Current)}}, kek.Keys{Primary: a}, true, nil, nil},
		{"store from before KEK records, its key", kek.Found{Sample: legacySample}, kek.Keys{Primary: a}, false, a, []kek.State{kek.Current}},
		{"store from before KEK records, another key", kek.Found{Sample: legacySample}, kek.Keys{Primary: b}, true, nil, nil},
	}
	for _, tt := range tests {
		tt.keys.PrimaryFrom, tt.keys.NewFrom = "--kek-file", "--new-kek-file"
		p, err := kek.Check(tt.found, tt.keys, kek.Bindings(), now)
		if errors.Is(err, kek.ErrMismatch) != tt.mismatch || tt.mismatch != (err != nil) {
			t.Errorf("Check(%s) = %v, want mismatch: %v", tt.name, err, tt.mismatch)
			continue
		}
		if err != nil {
			continue
		}
		if p.Ring.SealingID() != tt.sealing.ID() {
			t.Errorf("Check(%s) seals under %s, want %s", tt.name, p.Ring.SealingID(), tt.sealing.ID())
		}
		var adds []kek.State
		for _, r := range p.Add {
			adds = append(adds, r.State)
		}
		if fmt.Sprint(adds) != fmt.Sprint(tt.adds) {
			t.Errorf("Check(%s) records %v, want %v", tt.name, adds, tt.adds)
		}
	}
}

// TestRotate re-seals a store's CA keys (one of them sealed before values
// named their key), access keys, signing key, credentials, webhook secret
// and serving CA under a new KEK, stopped halfway once and then
// resumed; afterwards a raw scan finds nothing under the old key, the old
// key opens nothing, and the Service works under the new key alone.
func TestRotate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	oldRaw, _ := seal.NewKey()
	oldKey, _ := seal.New(oldRaw)
	newKey := servicetest.Sealer(t)
	env := &servicetest.Env{Store: servicetest.SQLite(t), Sealer: oldKey}
	env.Service = dbtrust.NewService(env.Store, oldKey, dbtrust.Options{})
	var err error
	if env.Account, _, _, err = env.Service.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(env.Store.AddKEK(ctx, rec(t, oldKey, kek.Current)))
	var instances []dbtrust.Instance
	for i := range 12 {
		inst, err := env.Service.CreateInstance(ctx, env.Owner(), dbtrust.InstanceSpec{Name: fmt.Sprintf("db-%d", i), Engine: "pg"})
		must(err)
		instances = append(instances, inst)
	}
	_, _, err = accesskey.New(env.Service, env.Store).Create(ctx, env.Owner(), "sdk", dbtrust.RoleMember)
	must(err)
	_, _, err = env.Service.SignLink(ctx, []byte("link")) // creates the link signing key
	must(err)
	name := "s3"
	_, err = credential.New(env.Service, env.Store).Create(ctx, env.Owner(), credential.Input{Version: "1.1", Name: &name, KeyType: "s3",
		KeyStore: map[string][]byte{"accessKey": []byte("AK"), "accessSecret": []byte("secret")}})
	must(err)
	_, err = selftls.Open(ctx, selftls.Config{Store: env.Store, Dir: t.TempDir(), Sealer: oldKey})
	must(err)
	_, _, err = env.Service.CreateWebhook(ctx, env.Owner(), dbtrust.WebhookSpec{URL: "https://hooks.example.test/dbtrust"})
	must(err)
	// One CA key as sealed before values named their key (version 1).
	cas, err := env.Store.ListCAs(ctx, env.Account.ID, instances[0].ID)
	must(err)
	der, err := oldKey.Open(cas[0].SealedKey, dbtrust.CAKeyAAD(cas[0].ID))
	must(err)
	n, err := env.Store.ReplaceSealed(ctx, "cas", []kek.Replacement{{Key: cas[0].ID, Old: cas[0].SealedKey, New: sealV1(t, oldRaw, der, dbtrust.CAKeyAAD(cas[0].ID))}})
	if err != nil || n != 1 {
		t.Fatalf("ReplaceSealed(a version-1 value) = %d, %v", n, err)
	}
	if census, _ := kek.Census(ctx, env.Store); census[""] != 1 {
		t.Fatalf("census = %v, want one value without a key ID", census)
	}

	// The rotation begins: the new key is recorded as next.
	must(env.Store.AddKEK(ctx, rec(t, newKey, kek.Next)))
	ring := seal.NewKeyring(newKey, oldKey)
	stopCtx, stop := context.WithCancel(ctx)
	_, err = kek.Rotate(stopCtx, env.Store, ring, kek.Bindings(), kek.RotateOptions{Batch: 4, OnBatch: func(kek.Progress) { stop() }})
	if !errors.Is(err, context.Canceled) && dbtrust.ErrorCode(err) != dbtrust.Unavailable {
		t.Fatalf("Rotate(stopped after a batch) = %v, want it cancelled", err)
	}
	census, err := kek.Census(ctx, env.Store)
	must(err)
	if census[newKey.ID()] == 0 || census[oldKey.ID()] == 0 {
		t.Fatalf("census after a stopped rotation = %v, want values under both keys", census)
	}
	progress, err := kek.Rotate(ctx, env.Store, ring, kek.Bindings(), kek.RotateOptions{Batch: 4})
	must(err)
	t.Logf("resumed rotation: %+v", progress)

	census, err = kek.Census(ctx, env.Store)
	must(err)
	total := census[newKey.ID()]
	if len(census) != 1 || total < 12+4 {
		t.Fatalf("census after the rotation = %v, want every value under %s only", census, newKey.ID())
	}
	recs, err := env.Store.KEKs(ctx)
	must(err)
	if len(recs) != 1 || recs[0].KeyID != newKey.ID() || recs[0].State != kek.Current {
		t.Fatalf("KEK records after the rotation = %+v, want %s current only", recs, newKey.ID())
	}
	// The old key opens nothing; the new one opens everything.
	tables, err := env.Store.SealedTables(ctx)
	must(err)
	for _, tb := range tables {
		vs, err := env.Store.SealedValues(ctx, tb, "", 1000)
		must(err)
		for _, v := range vs {
			if _, err := oldKey.Open(v.Value, kek.Bindings()[tb](v.Ref)); err == nil {
				t.Errorf("the old key opens %s %s after the rotation", tb, v.Key)
			}
			if _, err := newKey.Open(v.Value, kek.Bindings()[tb](v.Ref)); err != nil {
				t.Errorf("the new key does not open %s %s: %v", tb, v.Key, err)
			}
		}
	}
	svc := dbtrust.NewService(env.Store, newKey, dbtrust.Options{})
	for _, inst := range instances {
		if _, err := svc.IssueCertificate(ctx, env.Owner(), inst.ID, dbtrust.IssueRequest{}); err != nil {
			t.Fatalf("IssueCertificate(%s) under the new key alone = %v", inst.Name, err)
		}
	}
}

// sealV1 seals the way dbtrust did before values named their key: version
// byte 1, a 12-byte nonce, then AES-256-GCM over the caller's aad alone.
func sealV1(t *testing.T, key, plaintext, aad []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 1+gcm.NonceSize())
	out[0] = 1
	rand.Read(out[1:])
	return gcm.Seal(out, out[1:], plaintext, aad)
}
