// Package load holds load tests of the web layer: many sessions making many
// requests while their access tokens expire and their refresh tokens
// rotate, against a single net/http instance with cookie sessions and
// against two instances sharing a Redis session store. It has no code of
// its own; run it with `go test ./e2e/load/` from the root.
//
// TestMultiInstanceReliability (issue 18) runs two instances behind a
// round-robin balancer, on Redis and on cookies, through a baseline of
// several token lifetimes, a Redis restart, a slow and a failing token
// endpoint and a key rotation that retires the old key; it asserts no
// spurious sign-outs, no wrong-user answers, bounded token calls, goroutines
// back to where they were and a heap ceiling, and writes its figures to
// testout/multi-instance.txt at the repository root. It takes about two
// minutes (`-short` skips it). Its Redis restart needs redis-server on PATH
// even when REDIS_ADDR is set: it restarts a server of its own.
//
// Like package e2e, it uses REDIS_ADDR when set and otherwise starts
// redis-server from PATH on a free loopback port; it fails when neither
// works.
package load
