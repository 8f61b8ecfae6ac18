package dbtrust

import (
	"context"
	"sync/atomic"
)

// A BundleForm is one way a dialect answers with an instance's CA bundle (a
// JSON document holding its base64, say). Service.InstanceCABundleIn builds
// it once per bundle, when first asked, and hands out the same bytes until
// the bundle changes: the hottest read of every dialect then costs no
// encoding at all.
type BundleForm struct {
	id     int
	encode func(bundle []byte) []byte
}

// maxBundleForms bounds the forms a process defines: each cached bundle
// keeps one slot per form.
const maxBundleForms = 8

var bundleForms atomic.Int32

// NewBundleForm defines a form: encode turns a PEM bundle into the bytes
// sent. It must not keep or modify its argument. Forms are defined once, at
// package level; NewBundleForm panics past maxBundleForms of them.
func NewBundleForm(encode func(bundle []byte) []byte) *BundleForm {
	id := int(bundleForms.Add(1)) - 1
	if id >= maxBundleForms {
		panic("dbtrust: too many bundle forms")
	}
	return &BundleForm{id: id, encode: encode}
}

// formSlots holds a cached bundle's forms, built on first use. Two
// requests that race build the form twice and keep the first: both are the
// same bytes.
type formSlots [maxBundleForms]atomic.Pointer[[]byte]

// form returns e's bundle in form f.
func (e caEntry) form(f *BundleForm) []byte {
	if e.forms == nil {
		return f.encode(e.bundle)
	}
	slot := &e.forms[f.id]
	if b := slot.Load(); b != nil {
		return *b
	}
	b := f.encode(e.bundle)
	if !slot.CompareAndSwap(nil, &b) {
		return *slot.Load()
	}
	return b
}

// InstanceCABundleIn is InstanceCABundle in form f. The caller must not
// modify the returned bytes.
func (s *Service) InstanceCABundleIn(ctx context.Context, p Principal, instanceID string, f *BundleForm) ([]byte, error) {
	e, err := s.instanceCAs(ctx, p, instanceID)
	if err != nil {
		return nil, err
	}
	s.noteBundle(p, e)
	return e.form(f), nil
}
