// Package e2e holds end-to-end tests: real database servers (PostgreSQL,
// Redis) of the tests' own, serving certificates that dbtrust issued, and
// real clients that verify them against the CA bundle fetched through the
// vendor dialects, across a full CA rotation. It has no code of its own.
package e2e
