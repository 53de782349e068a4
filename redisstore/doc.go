// Package redisstore keeps Kinde sessions in Redis, for applications that run
// several instances behind a load balancer, or that want sessions to survive a
// restart.
//
// A [*Store] has the Get, Set and Delete methods of the kinde.Store interface of
// github.com/gokinde/kinde/core, so it can be passed wherever a kinde.Store is
// expected, and the optional CompareAndSwap method (one Lua script, atomic in
// Redis) with which kinde saves refreshed sessions so that, when several
// instances refresh one session at once, a newer refresh token is never
// overwritten by an older one. It does not import that module: the two evolve independently, and
// this package depends only on github.com/redis/go-redis/v9.
//
// Sessions are stored as plain Redis strings under a key prefix ("kinde:session:"
// by default) with a time to live, so Redis removes them when they expire. Any
// go-redis client works: a single server ([redis.NewClient]), Sentinel
// ([redis.NewFailoverClient]) or Cluster ([redis.NewClusterClient]).
//
// When a session is missing or has expired, Get returns an error for which
// errors.Is(err, ErrNotFound) holds and which has a NotFound() bool method
// returning true; kinde recognises that as "no session".
package redisstore
