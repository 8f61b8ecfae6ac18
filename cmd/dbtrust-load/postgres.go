package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
)

// The PostgreSQL issuance scenario (--postgres URL): a second dbtrust serve
// on a database of its own, created on the server of URL for the run and
// dropped after it, issues certificates exactly as the SQLite one does; the
// rounds are interleaved with issuance on the SQLite dbtrust, so that the
// row's ratios are PostgreSQL's over SQLite's. Its server CPU is dbtrust's
// plus that of the PostgreSQL backends serving it (they do the database's
// work, which the SQLite dbtrust does in its own process); PostgreSQL's
// background writers are not counted. PostgreSQL is not pinned.

// postgresIssuance measures issuance on PostgreSQL against sqlite, the
// running SQLite dbtrust's issuance round.
func (b *bench) postgresIssuance(ctx context.Context, sqlite func(context.Context) (result, error)) error {
	if b.cfg.Postgres == "" {
		return nil
	}
	dbURL, drop, err := freshDatabase(ctx, b.cfg.Postgres)
	if err != nil {
		return fmt.Errorf("--postgres: %w", err)
	}
	defer drop()
	p, err := b.startDbtrustOn(ctx, filepath.Join(b.dir, "pgdata"), b.cpu, true, "--store", dbURL)
	if err != nil {
		return err
	}
	defer p.stop()
	d := &dbtrustAPI{p: p, token: p.Token, hc: newClient(b.cfg.IssueClients, nil)}
	id, err := d.createInstance(ctx, "load-pg")
	if err != nil {
		return err
	}
	backends := func() time.Duration { return backendCPU(ctx, b.cfg.Postgres, dbURL) }
	round := d.issue(id, b.cfg.IssueClients, b.cfg.Duration)
	pg := func(ctx context.Context) (result, error) {
		c0 := backends()
		r, err := round(ctx)
		r.CPU += backends() - c0
		return r, err
	}
	name := fmt.Sprintf("issuance on PostgreSQL (dbtrust + its backends' CPU), %d clients", b.cfg.IssueClients)
	return b.interleave(ctx, name, pg, "the same on SQLite", sqlite)
}

// freshDatabase creates a database with a random name on the server of
// base and returns its URL and a function that drops it.
func freshDatabase(ctx context.Context, base string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	var rnd [6]byte
	rand.Read(rnd[:])
	name := "dbtrust_load_" + hex.EncodeToString(rnd[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	}
	return u.String(), drop, nil
}

// backendCPU sums the CPU time of the PostgreSQL backends connected to the
// database of dbURL (they run on this machine: the scenario is for a local
// server).
func backendCPU(ctx context.Context, base, dbURL string) time.Duration {
	u, err := url.Parse(dbURL)
	if err != nil {
		return 0
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return 0
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1", u.Path[1:])
	if err != nil {
		return 0
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0
	}
	var sum time.Duration
	for _, pid := range pids {
		sum += procCPU(int(pid))
	}
	return sum
}
