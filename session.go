package dbtrust

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// Session is a sign-in of the web console. The browser holds the session's
// secret (in a cookie); the store keeps only its hash, the token it was
// opened with and when it ends. A session acts with its token's account and
// role, checked again at every use: revoking the token ends its sessions.
type Session struct {
	ID        string // lower-case hex SHA-256 of the secret
	AccountID string
	TokenID   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionPrefix starts every session secret.
const SessionPrefix = "dbs_"

// DefaultSessionTTL is how long a console session lasts unless told otherwise.
const DefaultSessionTTL = 8 * time.Hour

func sessionID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

var errBadSession = Errorf(Unauthorized, "the session is missing, expired or signed out: sign in again")

// SignIn checks a bearer token and opens a session for it that lasts ttl
// (DefaultSessionTTL when ttl is not positive). The secret is returned once;
// only its hash is kept. Expired sessions of every account are removed on
// the way.
func (s *Service) SignIn(ctx context.Context, bearer string, ttl time.Duration) (Session, string, error) {
	p, err := s.Authenticate(ctx, bearer)
	if err != nil {
		return Session{}, "", err
	}
	if p.InstanceID != "" {
		return Session{}, "", Errorf(Forbidden, "a node token is for the agent on a database node: sign in to the console with an account token")
	}
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return Session{}, "", Wrap(Internal, err, "no randomness for a session")
	}
	secret := SessionPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	sess := Session{ID: sessionID(secret), AccountID: p.AccountID, TokenID: strings.TrimPrefix(p.Subject, "token:"),
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.store.DeleteExpiredSessions(ctx, now); err != nil {
		s.log.Warn("expired sessions not removed", "err", err)
	}
	actx, done := s.Audited(ctx, p, "session.create", "session/"+sess.ID[:16])
	err = done(s.store.CreateSession(actx, sess))
	if err != nil {
		return Session{}, "", err
	}
	return sess, secret, nil
}

// SessionPrincipal returns the Principal a session secret acts as: its
// token's account and current role. Every failure (unknown, expired, signed
// out, token revoked) is the same Unauthorized error.
func (s *Service) SessionPrincipal(ctx context.Context, secret string) (Principal, Session, error) {
	if !strings.HasPrefix(secret, SessionPrefix) || len(secret) != len(SessionPrefix)+43 {
		return Principal{}, Session{}, errBadSession
	}
	sess, err := s.store.GetSession(ctx, sessionID(secret))
	if ErrorCode(err) == NotFound || err == nil && !s.now().Before(sess.ExpiresAt) {
		return Principal{}, Session{}, errBadSession
	}
	if err != nil {
		return Principal{}, Session{}, err
	}
	t, err := s.getToken(ctx, sess.TokenID)
	if ErrorCode(err) == NotFound || err == nil && (t.RevokedAt != nil || t.AccountID != sess.AccountID) {
		return Principal{}, Session{}, errBadSession
	}
	if err != nil {
		return Principal{}, Session{}, err
	}
	return t.Principal(), sess, nil
}

// SignOut ends the session of secret. Signing out of a session that has
// already ended is not an error.
func (s *Service) SignOut(ctx context.Context, secret string) error {
	p, sess, err := s.SessionPrincipal(ctx, secret)
	if ErrorCode(err) == Unauthorized {
		return nil
	}
	if err != nil {
		return err
	}
	actx, done := s.Audited(ctx, p, "session.delete", "session/"+sess.ID[:16])
	err = done(s.store.DeleteSession(actx, sess.ID))
	if ErrorCode(err) == NotFound { // signed out already: nothing to record
		err = nil
	}
	return err
}
