package astra

import (
	"net/http"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// This file holds what every route does before its handler: the bearer
// token, the rate limit, the account in the path, the resource ID.

type api struct {
	svc   service
	certs certificates
	creds credentials
	cfg   Config
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error

// wrap authenticates the bearer token and checks the path's account ID, then
// runs h and answers its error, if any, as an Astra problem.
func (a api) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.authenticate(r)
		if _, lerr := httpx.Limit(w, a.cfg.Limiter, httpx.LimitKey(r, p.Subject, err == nil)); lerr != nil {
			err = lerr
		}
		if err == nil {
			err = checkAccount(r, p)
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			httpx.LogFailure(a.cfg.Log, r, "astra", writeProblem(w, r, toProblem(r, err)), err)
		}
	})
}

func (a api) authenticate(r *http.Request) (dbtrust.Principal, error) {
	if r.Header.Get("Authorization") == "" {
		return dbtrust.Principal{}, newProblem(3)
	}
	token, ok := httpx.Bearer(r)
	if !ok {
		return dbtrust.Principal{}, newProblem(4)
	}
	p, err := a.svc.Authenticate(r.Context(), token)
	if dbtrust.ErrorCode(err) == dbtrust.Unauthorized {
		return p, newProblem(4)
	}
	return p, err
}

// checkAccount answers a malformed account ID with problem 33 and another
// account's ID exactly as an account that does not exist.
func checkAccount(r *http.Request, p dbtrust.Principal) error {
	id, ok := dbtrust.ParseID(r.PathValue("account_id"))
	if !ok {
		return newProblem(33)
	}
	if id != p.AccountID {
		return dbtrust.Errorf(dbtrust.NotFound, "no such account")
	}
	return nil
}

// resourceID returns the path's resource ID, or problem 35 when malformed.
func resourceID(r *http.Request) (string, error) {
	id, ok := dbtrust.ParseID(r.PathValue("id"))
	if !ok {
		return "", newProblem(35)
	}
	return id, nil
}

func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeProblem(w, r, newProblem(69))
	})
}

func unknownCollection() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, newProblem(2))
	})
}
