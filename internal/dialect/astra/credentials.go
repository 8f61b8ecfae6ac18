package astra

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
)

// The credentials collection. The key store goes in, never out.

type credentialOut struct {
	Type                string      `json:"type"`
	Version             string      `json:"version"`
	ID                  string      `json:"id"`
	Name                string      `json:"name"`
	KeyType             string      `json:"keyType,omitempty"`
	Valid               string      `json:"valid"`
	ValidFromTimestamp  string      `json:"validFromTimestamp,omitempty"`
	ValidUntilTimestamp string      `json:"validUntilTimestamp,omitempty"`
	Metadata            metadataOut `json:"metadata"`
}

// credentialJSON renders a credential. It has no keyStore member: the key
// store is never returned.
func credentialJSON(c credential.Credential) ([]byte, error) {
	out := credentialOut{Type: typeCredential, Version: c.Version, ID: c.ID, Name: c.Name, KeyType: c.KeyType,
		Valid: strconv.FormatBool(c.Valid), Metadata: metadataOf(c.Meta)}
	if c.ValidFrom != nil {
		out.ValidFromTimestamp = stamp(*c.ValidFrom)
	}
	if c.ValidUntil != nil {
		out.ValidUntilTimestamp = stamp(*c.ValidUntil)
	}
	return marshal(out)
}

type credentialIn struct {
	Version             string             `json:"version"`
	ID                  string             `json:"id"`
	Name                *string            `json:"name"`
	KeyType             *string            `json:"keyType"`
	KeyStore            *map[string]string `json:"keyStore"`
	Valid               *string            `json:"valid"`
	ValidFromTimestamp  *string            `json:"validFromTimestamp"`
	ValidUntilTimestamp *string            `json:"validUntilTimestamp"`
	Metadata            *metadataIn        `json:"metadata"`
}

func (in credentialIn) input() (credential.Input, error) {
	out := credential.Input{ID: in.ID, Version: in.Version, Name: in.Name, KeyType: strOf(in.KeyType),
		Valid: boolOf(in.Valid), Labels: labelsOf(in.Metadata)}
	var err error
	if out.ValidFrom, err = parseTime("validFromTimestamp", in.ValidFromTimestamp); err != nil {
		return out, err
	}
	if out.ValidUntil, err = parseTime("validUntilTimestamp", in.ValidUntilTimestamp); err != nil {
		return out, err
	}
	if in.KeyStore != nil {
		out.KeyStore = make(map[string][]byte, len(*in.KeyStore))
		for k, v := range *in.KeyStore {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return out, schemaFailure("/keyStore/" + k + ": not standard base64")
			}
			out.KeyStore[k] = b
		}
	}
	return out, nil
}

// credentialCondFields are the filter paths the store applies itself, and
// its field for each: members rendered from one column as they are stored.
// Timestamps and labels are filtered here, after loading.
var credentialCondFields = map[string]credential.Field{"id": credential.FieldID, "name": credential.FieldName,
	"version": credential.FieldVersion, "keyType": credential.FieldKeyType, "valid": credential.FieldValid,
	"metadata.createdBy": credential.FieldCreatedBy, "metadata.modifiedBy": credential.FieldModifiedBy}

// credentialPushes says whether the store can apply c exactly as
// condition.match would to the rendered credential.
func credentialPushes(c condition) bool {
	_, ok := credentialCondFields[c.field]
	return ok && credential.CheckConds([]credential.Cond{{Field: credentialCondFields[c.field], Op: c.op, Value: c.value}}) == nil
}

func credentialConds(where []condition) []credential.Cond {
	out := make([]credential.Cond, len(where))
	for i, c := range where {
		out[i] = credential.Cond{Field: credentialCondFields[c.field], Op: c.op, Value: c.value}
	}
	return out
}

func (a api) listCredentials(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	entries := func(list []credential.Credential) []*listEntry {
		out := make([]*listEntry, 0, len(list))
		for _, c := range list {
			render := func() ([]byte, error) {
				return a.credJSON.get(c.ID, c.Revision, func() ([]byte, error) { return credentialJSON(c) })
			}
			out = append(out, &listEntry{id: c.ID, created: c.CreatedAt.UnixMicro(), render: render})
		}
		return out
	}
	load := func() ([]*listEntry, error) {
		list, err := a.creds.List(r.Context(), p)
		return entries(list), err
	}
	keyset := &keysetSource{
		after: func(where []condition, pos *position, n int) ([]*listEntry, error) {
			return a.credentialPage(r.Context(), p, where, pos, n)
		},
		count:  func(where []condition) (int, error) { return a.creds.Count(r.Context(), p, credentialConds(where)) },
		pushes: credentialPushes,
	}
	return a.keptList(w, r, p, func() ([]byte, error) {
		return a.listBody(r, p, "credentials", credentialFields, load, keyset)
	})
}

// keptList answers a credentials list from credPages while the account's
// credentials keep the version the answer was made at, else with the answer
// build makes, which it keeps. The version is read before the list, so a
// kept answer is never older than its version. When it cannot be read, the
// list answers as it would have (a role too low for it, say, after a bad
// query parameter), and nothing is kept.
func (a api) keptList(w http.ResponseWriter, r *http.Request, p dbtrust.Principal, build func() ([]byte, error)) error {
	version, verr := a.creds.Version(r.Context(), p)
	key := p.AccountID + "?" + r.URL.RawQuery
	if kept, ok := a.credPages.lookup(key, version, time.Now()); verr == nil && ok {
		writeTagged(w, http.StatusOK, mediaJSON, kept.body, kept.etag)
		return nil
	}
	body, err := build()
	if err != nil {
		return err
	}
	kept := keptPage{version: version, body: body, etag: etag(body), made: time.Now()}
	if verr == nil {
		a.credPages.put(key, kept)
	}
	writeTagged(w, http.StatusOK, mediaJSON, body, kept.etag)
	return nil
}

// credentialPage is at most n of p's credentials meeting where after pos,
// in creation order. The store lists their keys; only those whose JSON at
// their revision is not kept are read whole.
func (a api) credentialPage(ctx context.Context, p dbtrust.Principal, where []condition, pos *position, n int) ([]*listEntry, error) {
	var at time.Time
	var after string
	if pos != nil {
		at, after = time.UnixMicro(pos.Created), pos.ID
	}
	keys, err := a.creds.ListKeysAfter(ctx, p, credentialConds(where), at, after, n)
	if err != nil {
		return nil, err
	}
	bodies := make(map[string][]byte, len(keys))
	var missing []string
	for _, k := range keys {
		if body, ok := a.credJSON.lookup(k.ID, k.Revision); ok {
			bodies[k.ID] = body
		} else {
			missing = append(missing, k.ID)
		}
	}
	if len(missing) > 0 {
		list, err := a.creds.GetMany(ctx, p, missing)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			if bodies[c.ID], err = credentialJSON(c); err != nil {
				return nil, err
			}
			a.credJSON.put(c.ID, c.Revision, bodies[c.ID])
		}
	}
	out := make([]*listEntry, 0, len(keys))
	for _, k := range keys {
		// A credential deleted since its key was listed is left out.
		if body := bodies[k.ID]; body != nil {
			out = append(out, &listEntry{id: k.ID, created: k.CreatedAt.UnixMicro(), body: body})
		}
	}
	return out, nil
}

// credentialCollection is the credentials collection's single resources. An
// update answers 200 with the updated resource when Accept names
// application/astra-credential+json (as actoolkit sends, and as real Astra
// servers answered it), otherwise 204 with no body, as Astra's definition says.
func (a api) credentialCollection() collection[credential.Credential, credentialIn, credential.Input] {
	return collection[credential.Credential, credentialIn, credential.Input]{
		media: mediaCredential, postSchema: credentialPostSchema, putSchema: credentialPutSchema,
		render: credentialJSON, bodyOnUpdate: true,
		head:   func(c credential.Credential) (string, dbtrust.Meta) { return c.ID, c.Meta },
		create: a.creds.Create, get: a.creds.Get, update: a.creds.Update, remove: a.creds.Delete,
	}
}
