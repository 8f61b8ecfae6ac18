package astra

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/dbtrust/dbtrust"
)

// Collection GETs: filter, order, paging with sealed continue tokens.

// keysetSource reads a page of a collection in creation order straight from
// the store, which applies the filter itself: the items after a position
// that meet every condition of where, and how many meet them. pushes says
// whether the store can apply a condition exactly as condition.match does.
type keysetSource struct {
	after  func(where []condition, pos *position, n int) ([]*listEntry, error)
	count  func(where []condition) (int, error)
	pushes func(c condition) bool
}

// serves says whether ks can answer lq without loading the collection: a
// limited page in creation order whose every condition the store applies.
func (ks *keysetSource) serves(lq listQuery) bool {
	if ks == nil || lq.orderBy != "" || lq.limit == 0 {
		return false
	}
	for _, c := range lq.filters {
		if !ks.pushes(c) {
			return false
		}
	}
	return true
}

// list answers a collection GET. load returns every item of the collection in
// its default order; keyset, when not nil, serves limited pages in creation
// order without loading the rest.
func (a api) list(w http.ResponseWriter, r *http.Request, p dbtrust.Principal, collection string, fields collectionFields,
	load func() ([]*listEntry, error), keyset *keysetSource) error {
	body, err := a.listBody(r, p, collection, fields, load, keyset)
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, mediaJSON, body)
	return nil
}

// listBody is the answer to a collection GET, as list describes it.
func (a api) listBody(r *http.Request, p dbtrust.Principal, collection string, fields collectionFields,
	load func() ([]*listEntry, error), keyset *keysetSource) ([]byte, error) {
	lq, err := parseListQuery(r.URL.Query(), fields)
	if err != nil {
		return nil, err
	}
	fp := lq.fingerprint(collection)
	if lq.after, err = a.openContinue(p, collection, lq.rawCont, fp); err != nil {
		return nil, err
	}
	var entries []*listEntry
	paged := lq
	direct := keyset.serves(lq)
	if direct {
		// One more than the page shows whether another page follows; the
		// store filtered them already.
		entries, err = keyset.after(lq.filters, lq.after, lq.skip+lq.limit+1)
		paged.filters = nil
	} else {
		entries, err = load()
	}
	if err != nil {
		return nil, err
	}
	page, total, more, err := paged.page(entries, fp)
	if err != nil {
		return nil, dbtrust.Wrap(dbtrust.Internal, err, "list failed")
	}
	if direct && lq.count {
		if total, err = keyset.count(lq.filters); err != nil {
			return nil, err
		}
	}
	return a.writeList(p, collection, lq, fp, page, total, more)
}

// openContinue opens a continue token (nil: none, the first page) and checks
// that it was issued for the same list query, fingerprint fp.
func (a api) openContinue(p dbtrust.Principal, collection string, raw []byte, fp string) (*position, error) {
	if raw == nil {
		return nil, nil
	}
	plain, err := a.svc.OpenCursor(p, collection, raw)
	if err != nil {
		return nil, badParam("continue", "not a continue token this server issued for this list")
	}
	var pos position
	if err := json.Unmarshal(plain, &pos); err != nil || pos.Query != fp {
		return nil, badParam("continue", "the token belongs to a list with another filter or order")
	}
	return &pos, nil
}

// writeList makes the answer to a page: its items (whole, or the members lq includes),
// the count when asked for, and a sealed continue token when more follow.
func (a api) writeList(p dbtrust.Principal, collection string, lq listQuery, fp string,
	page []*listEntry, total int, more bool) ([]byte, error) {
	type listMeta struct {
		Continue string `json:"continue,omitempty"`
		Count    *int   `json:"count,omitempty"`
	}
	var meta listMeta
	if lq.count {
		meta.Count = &total
	}
	if more && len(page) > 0 {
		pos, err := marshal(page[len(page)-1].position(fp))
		if err != nil {
			return nil, err
		}
		sealed, err := a.svc.SealCursor(p, collection, pos)
		if err != nil {
			return nil, err
		}
		meta.Continue = base64.StdEncoding.EncodeToString(sealed)
	}
	// The items are JSON already: join them rather than encode them again.
	var buf bytes.Buffer
	buf.WriteString(`{"items":[`)
	for i, e := range page {
		if i > 0 {
			buf.WriteByte(',')
		}
		var item []byte
		var err error
		if lq.include == nil {
			item, err = e.json()
		} else {
			item, err = includeRow(e, lq.include)
		}
		if err != nil {
			return nil, err
		}
		buf.Write(item)
	}
	buf.WriteString(`],"metadata":`)
	m, err := marshal(meta)
	if err != nil {
		return nil, err
	}
	buf.Write(m)
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// includeRow is an item as the array of its members named by include.
func includeRow(e *listEntry, include []string) ([]byte, error) {
	doc, err := e.decoded()
	if err != nil {
		return nil, dbtrust.Wrap(dbtrust.Internal, err, "list failed")
	}
	row := make([]any, len(include))
	for i, f := range include {
		v, ok := doc[f]
		if !ok {
			// Astra's list schema admits no null here: an unset member
			// (keyType, say) reads as "".
			v = ""
		}
		row[i] = v
	}
	return marshal(row)
}
