// Package load holds load tests of the web layer: many sessions making many
// requests while their access tokens expire and their refresh tokens
// rotate, against a single net/http instance with cookie sessions and
// against two instances sharing a Redis session store. It has no code of
// its own; run it with `go test ./e2e/load/` from the root.
//
// Like package e2e, it uses REDIS_ADDR when set and otherwise starts
// redis-server from PATH on a free loopback port; it fails when neither
// works.
package load
