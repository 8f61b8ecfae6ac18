package huaweicloud

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// BenchmarkVerifySignature measures the server's cost of checking one
// SDK-HMAC-SHA256 request: "rebuild" is parsing, the canonical request and
// the string to sign with an in-memory HMAC; "core/cached" adds what the core
// does per request when the access key is in its read cache (opening the
// sealed SK, HMAC, constant-time compare); "core/uncached" adds the AK lookup
// in SQLite on every request.
func BenchmarkVerifySignature(b *testing.B) {
	ctx := context.Background()
	b.Run("rebuild", func(b *testing.B) {
		r := vecRequest().Request
		now := vecTime.Add(time.Minute)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := verifySDKSignature(ctx, r, nil, now, vecVerifier); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"core/cached", 0}, {"core/uncached", -1}} {
		b.Run(c.name, func(b *testing.B) { benchVerifyCore(b, c.ttl) })
	}
}

func benchVerifyCore(b *testing.B, cacheTTL time.Duration) {
	ctx := context.Background()
	{
		store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "dbtrust.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		kek, _ := seal.NewKey()
		sealer, _ := seal.New(kek)
		svc := dbtrust.NewService(store, sealer, dbtrust.Options{CacheTTL: cacheTTL})
		a, _, err := svc.CreateAccount(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		keys := accesskey.New(svc, store)
		k, sk, err := keys.Create(ctx, dbtrust.Operator(a.ID), "bench", dbtrust.RoleViewer)
		if err != nil {
			b.Fatal(err)
		}
		r := vecRequest().Request
		r.Header.Del("Authorization")
		canonical := canonicalRequest(r, []string{"user-agent", "x-project-id", "x-sdk-date"}, bodyHash(nil))
		r.Header.Set("Authorization", sdkAlgorithm+" Access="+k.ID+", SignedHeaders=user-agent;x-project-id;x-sdk-date, Signature="+
			hmacHex(sk, stringToSign(vecDate, canonical)))
		now := vecTime.Add(time.Minute)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := verifySDKSignature(ctx, r, nil, now, keys.Authenticate); err != nil {
				b.Fatal(err)
			}
		}
	}
}
