// Package e2e holds end-to-end tests that combine several modules of the
// repository, such as the core web layer with the Redis session store. It
// has no code of its own; run it with `go test ./e2e/...` from the root.
//
// The Redis tests use REDIS_ADDR when it is set and otherwise start
// redis-server from PATH (apt-get install redis-server) on a free loopback
// port; they fail when neither works.
package e2e
