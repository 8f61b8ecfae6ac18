package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/google/uuid"
)

func testSessions(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, tok := NewAccount(t, s, "sessions")
	live := dbtrust.Session{ID: uuid.NewString(), AccountID: a.ID, TokenID: tok.ID, CreatedAt: Later(), ExpiresAt: Time.Add(time.Hour)}
	old := dbtrust.Session{ID: uuid.NewString(), AccountID: a.ID, TokenID: tok.ID, CreatedAt: Later(), ExpiresAt: Time.Add(-time.Minute)}
	must(t, s.CreateSession(ctx, live))
	must(t, s.CreateSession(ctx, old))
	wantCode(t, "CreateSession(same id)", s.CreateSession(ctx, live), dbtrust.Conflict)
	wantCode(t, "CreateSession(unknown token)", s.CreateSession(ctx, dbtrust.Session{ID: "x", AccountID: a.ID, TokenID: "0000000000000000",
		CreatedAt: Time, ExpiresAt: Time}), dbtrust.NotFound)

	got, err := s.GetSession(ctx, live.ID)
	must(t, err)
	if got != live {
		t.Fatalf("GetSession = %+v, want %+v", got, live)
	}
	must(t, s.DeleteExpiredSessions(ctx, Time))
	_, err = s.GetSession(ctx, old.ID)
	wantCode(t, "GetSession(expired, after DeleteExpiredSessions)", err, dbtrust.NotFound)
	if _, err := s.GetSession(ctx, live.ID); err != nil {
		t.Fatalf("GetSession(live, after DeleteExpiredSessions) = %v", err)
	}
	must(t, s.DeleteSession(ctx, live.ID))
	wantCode(t, "DeleteSession(twice)", s.DeleteSession(ctx, live.ID), dbtrust.NotFound)
	_, err = s.GetSession(ctx, live.ID)
	wantCode(t, "GetSession(deleted)", err, dbtrust.NotFound)
}
