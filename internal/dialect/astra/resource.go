package astra

import (
	"context"
	"net/http"

	"github.com/dbtrust/dbtrust"
)

// collection is one of Astra's resource collections, as its single-resource
// handlers need it, so that certificates and credentials share one path for
// create, get, update and delete. T is the core's record, W the wire body of
// a POST or PUT, I the core's input made from it.
type collection[T any, W interface{ input() (I, error) }, I any] struct {
	media      string // the resource's own media type
	postSchema *schema
	putSchema  *schema
	render     func(T) ([]byte, error)
	head       func(T) (id string, m dbtrust.Meta)
	// bodyOnUpdate answers an update 200 with the resource when Accept names
	// media exactly; otherwise, and always without it, 204 with the new ETag.
	bodyOnUpdate bool

	create func(ctx context.Context, p dbtrust.Principal, in I) (T, error)
	get    func(ctx context.Context, p dbtrust.Principal, id string) (T, error)
	update func(ctx context.Context, p dbtrust.Principal, id string, in I, ifRevision int64) (T, error)
	remove func(ctx context.Context, p dbtrust.Principal, id string) error
}

// decode reads a request body against sch and makes the core's input of it.
func (c collection[T, W, I]) decode(a api, w http.ResponseWriter, r *http.Request, sch *schema) (I, error) {
	var body W
	if err := a.readBody(w, r, sch, &body); err != nil {
		var zero I
		return zero, err
	}
	return body.input()
}

// createHandler answers a POST to the collection: 201 with the new resource
// and its Location.
func (c collection[T, W, I]) createHandler(a api) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
		ct, err := negotiate(r, c.media)
		if err != nil {
			return err
		}
		in, err := c.decode(a, w, r, c.postSchema)
		if err != nil {
			return err
		}
		v, err := c.create(r.Context(), p, in)
		if err != nil {
			return err
		}
		out, err := c.render(v)
		if err != nil {
			return err
		}
		id, _ := c.head(v)
		w.Header().Set("Location", location(r, id))
		writeBody(w, http.StatusCreated, ct, out)
		return nil
	}
}

// getHandler answers a GET of one resource.
func (c collection[T, W, I]) getHandler() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
		id, err := resourceID(r)
		if err != nil {
			return err
		}
		ct, err := negotiate(r, c.media)
		if err != nil {
			return err
		}
		v, err := c.get(r.Context(), p, id)
		if err != nil {
			return err
		}
		out, err := c.render(v)
		if err != nil {
			return err
		}
		writeBody(w, http.StatusOK, ct, out)
		return nil
	}
}

// updateHandler answers a PUT of one resource. Conditional headers are
// checked against the resource as it is now; when any was sent, the update
// applies only to that revision.
func (c collection[T, W, I]) updateHandler(a api) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
		id, err := resourceID(r)
		if err != nil {
			return err
		}
		in, err := c.decode(a, w, r, c.putSchema)
		if err != nil {
			return err
		}
		ifRevision, err := c.precondition(r, p, id)
		if err != nil {
			return err
		}
		v, err := c.update(r.Context(), p, id, in, ifRevision)
		if err != nil {
			return err
		}
		out, err := c.render(v)
		if err != nil {
			return err
		}
		if c.bodyOnUpdate && acceptsExactly(r, c.media) {
			writeBody(w, http.StatusOK, c.media, out)
			return nil
		}
		w.Header().Set("ETag", etag(out))
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// precondition reads the resource id and checks r's conditional headers
// against it; it returns the revision the update must apply to, or 0 when r
// is not conditional.
func (c collection[T, W, I]) precondition(r *http.Request, p dbtrust.Principal, id string) (int64, error) {
	cur, err := c.get(r.Context(), p, id)
	if err != nil {
		return 0, err
	}
	curJSON, err := c.render(cur)
	if err != nil {
		return 0, err
	}
	_, m := c.head(cur)
	conditional, err := preconditions(r, etag(curJSON), m.ModifiedAt)
	if err != nil || !conditional {
		return 0, err
	}
	return m.Revision, nil
}

// deleteHandler answers a DELETE of one resource: 204.
func (c collection[T, W, I]) deleteHandler() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
		id, err := resourceID(r)
		if err != nil {
			return err
		}
		if err := c.remove(r.Context(), p, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
