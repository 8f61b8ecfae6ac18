package astra

import (
	"errors"
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
	// credJSON keeps listed credentials' JSON, credPages whole answers
	// (rendercache.go).
	credJSON  *renderCache
	credPages *pageCache
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error

// wrap authenticates the bearer token and checks the path's account ID, then
// runs h and answers its error, if any, as an Astra problem.
func (a api) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.authenticate(r)
		_, err = httpx.Admit(w, r, a.cfg.Limits, p, err)
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

// errMissingToken is a request without an Authorization header: problem 3,
// where any other authentication failure is problem 4.
var errMissingToken = errors.New("no bearer token")

func (a api) authenticate(r *http.Request) (dbtrust.Principal, error) {
	if r.Header.Get("Authorization") == "" {
		return dbtrust.Principal{}, &dbtrust.Error{Code: dbtrust.Unauthorized, Message: "no bearer token", Err: errMissingToken}
	}
	token, ok := httpx.Bearer(r)
	if !ok {
		return dbtrust.Principal{}, dbtrust.Errorf(dbtrust.Unauthorized, "malformed Authorization header")
	}
	return a.svc.Authenticate(r.Context(), token)
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
