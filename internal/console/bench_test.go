package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// BenchmarkFleetPage draws the fleet page (every instance's CAs and
// certificates, and the timeline) for an account of 50 instances with two
// certificates each, through the whole server with a signed-in session.
func BenchmarkFleetPage(b *testing.B) {
	env := servicetest.New(b, dbtrust.Options{})
	ctx := context.Background()
	owner, err := env.Service.Authenticate(ctx, env.Token)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 50 {
		inst, err := env.Service.CreateInstance(ctx, owner, dbtrust.InstanceSpec{Name: fmt.Sprintf("db-%02d", i), Engine: "pg"})
		if err != nil {
			b.Fatal(err)
		}
		for n := range 2 {
			req := dbtrust.IssueRequest{DNSNames: []string{fmt.Sprintf("node-%d.db-%02d.internal", n, i)}, TTL: time.Duration(10+i) * 24 * time.Hour, KeyType: "ecdsa-p256"}
			if _, err := env.Service.IssueCertificate(ctx, owner, inst.ID, req); err != nil {
				b.Fatal(err)
			}
		}
	}
	_, secret, err := env.Service.SignIn(ctx, env.Token, 0)
	if err != nil {
		b.Fatal(err)
	}
	h := server.New(server.Config{Service: env.Service})
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/ui/", nil)
		req.AddCookie(&http.Cookie{Name: "dbtrust_session", Value: secret})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET /ui/ = %d", w.Code)
		}
		b.SetBytes(int64(w.Body.Len()))
	}
}
