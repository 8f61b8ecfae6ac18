package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

// match picks the one item that arg names: by exact ID, else exact name,
// else as the unique prefix of an ID. kind names the items in messages,
// list tells the user how to see them.
func match[T any](items []T, arg, kind, list string, id, name func(T) string) (T, error) {
	var zero T
	for _, it := range items {
		if id(it) == arg {
			return it, nil
		}
	}
	var named []T
	for _, it := range items {
		if name != nil && name(it) == arg {
			named = append(named, it)
		}
	}
	if len(named) == 1 {
		return named[0], nil
	}
	var prefixed []T
	for _, it := range items {
		if arg != "" && strings.HasPrefix(strings.ToLower(id(it)), strings.ToLower(arg)) {
			prefixed = append(prefixed, it)
		}
	}
	switch {
	case len(named) > 1:
		return zero, dbtrust.Errorf(dbtrust.Invalid, "%d %ss are named %q: give the ID instead (see '%s')", len(named), kind, arg, list)
	case len(prefixed) == 1:
		return prefixed[0], nil
	case len(prefixed) > 1:
		ids := make([]string, len(prefixed))
		for i, it := range prefixed {
			ids[i] = id(it)
		}
		return zero, dbtrust.Errorf(dbtrust.Invalid, "%q is the start of %d %s IDs (%s): give more of it", arg, len(prefixed), kind, strings.Join(ids, ", "))
	}
	return zero, dbtrust.Errorf(dbtrust.NotFound, "no %s is named %q or has an ID starting with it: see '%s'", kind, arg, list)
}

// instance resolves an instance's name, ID or unique ID prefix. A whole ID
// is looked up alone (an exact ID wins over a name anyway), so that a
// script naming instances by ID does not list a fleet of a million for
// each command; a name or a prefix needs the list.
func instance(ctx context.Context, b backend, arg string) (client.Instance, error) {
	if id, ok := dbtrust.ParseInstanceID(arg); ok && id == arg {
		inst, err := b.GetInstance(ctx, arg)
		if dbtrust.ErrorCode(err) != dbtrust.NotFound {
			return inst, err
		}
	}
	list, err := b.ListInstances(ctx, "")
	if err != nil {
		return client.Instance{}, err
	}
	return match(list, arg, "instance", "dbtrust instance list",
		func(i client.Instance) string { return i.ID }, func(i client.Instance) string { return i.Name })
}

// certificate resolves the serial, or unique serial prefix, of one of the
// instance's certificates (hex, any case, colons allowed).
func certificate(ctx context.Context, b backend, inst client.Instance, arg string) (client.Certificate, error) {
	list, err := b.ListCertificates(ctx, inst.ID)
	if err != nil {
		return client.Certificate{}, err
	}
	arg = strings.ReplaceAll(arg, ":", "")
	return match(list, arg, "certificate", fmt.Sprintf("dbtrust cert list %s", inst.Name),
		func(c client.Certificate) string { return c.Serial }, nil)
}

// token resolves a token's name (among the live ones), ID, unique ID
// prefix, or the whole token string.
func token(ctx context.Context, b backend, arg string) (client.Token, error) {
	list, err := b.ListTokens(ctx)
	if err != nil {
		return client.Token{}, err
	}
	if rest, ok := strings.CutPrefix(arg, dbtrust.TokenPrefix); ok {
		arg, _, _ = strings.Cut(rest, "_") // a whole token string names its ID
	}
	live := unrevoked(list, func(t client.Token) string { return t.RevokedAt })
	if t, err := match(live, arg, "token", "dbtrust token list", func(t client.Token) string { return t.ID }, func(t client.Token) string { return t.Name }); err == nil {
		return t, nil
	}
	return match(list, arg, "token", "dbtrust token list", func(t client.Token) string { return t.ID }, func(t client.Token) string { return t.Name })
}

// accessKey resolves an access key, live ones only, by its AK, a unique AK
// prefix or its name.
func accessKey(ctx context.Context, b backend, arg string) (client.AccessKey, error) {
	list, err := b.ListAccessKeys(ctx)
	if err != nil {
		return client.AccessKey{}, err
	}
	live := unrevoked(list, func(k client.AccessKey) string { return k.RevokedAt })
	return match(live, arg, "access key", "dbtrust accesskey list",
		func(k client.AccessKey) string { return k.AccessKey }, func(k client.AccessKey) string { return k.Name })
}

// unrevoked keeps the items whose revocation time is empty.
func unrevoked[T any](items []T, revokedAt func(T) string) []T {
	live := items[:0:0]
	for _, it := range items {
		if revokedAt(it) == "" {
			live = append(live, it)
		}
	}
	return live
}

// completeInstance completes a command's first argument with the names of
// the account's instances, from the data folder or the server as the
// command would use.
func (a *app) completeInstance(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 || a.cfg.load(cmd, a.getenv) != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	b, done, err := a.backend(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer done()
	list, err := b.ListInstances(cmd.Context(), "")
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, i := range list {
		if strings.HasPrefix(i.Name, toComplete) {
			names = append(names, i.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// withInstanceCompletion sets the instance completion on every command
// under root whose first argument is an INSTANCE.
func (a *app) withInstanceCompletion(root *cobra.Command) {
	for _, c := range root.Commands() {
		if strings.Contains(c.Use, " INSTANCE") {
			c.ValidArgsFunction = a.completeInstance
		}
		a.withInstanceCompletion(c)
	}
}
