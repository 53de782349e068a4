package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix a Store uses unless [WithPrefix] says otherwise.
const DefaultPrefix = "kinde:session:"

// ErrNotFound is returned (wrapped) by [Store.Get] when a session id is unknown or
// has expired. Besides errors.Is, the error has a NotFound method that returns
// true, which is how kinde recognises it without importing this package.
var ErrNotFound error = notFoundError{}

type notFoundError struct{}

func (notFoundError) Error() string {
	return "redisstore: session not found or expired; the user needs to sign in again"
}

// NotFound reports true: the session does not exist.
func (notFoundError) NotFound() bool { return true }

// Store keeps sessions in Redis. It is safe for concurrent use, as the go-redis
// client is. Create one with [New].
type Store struct {
	client redis.UniversalClient
	prefix string
}

// Option configures a [Store].
type Option func(*Store)

// WithPrefix sets the prefix of the Redis keys that hold sessions, for example to
// keep the sessions of two applications that share a Redis database apart. The
// default is DefaultPrefix. An empty prefix stores session ids as bare keys.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// New returns a Store that keeps sessions through client. The Store does not
// close the client; the application owns it.
func New(client redis.UniversalClient, opts ...Option) *Store {
	s := &Store{client: client, prefix: DefaultPrefix}
	for _, opt := range opts {
		if opt != nil {
			opt(s)
		}
	}
	return s
}

// Get returns the value stored under id. When id is missing or expired it returns
// an error wrapping [ErrNotFound]; other errors come from Redis.
func (s *Store) Get(ctx context.Context, id string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	b, err := s.client.Get(ctx, s.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: get session: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: get session: %w", err)
	}
	return b, nil
}

// Set stores value under id for ttl, replacing any previous value. The ttl must be
// positive; Redis then removes the session when it expires. Durations that are not
// whole seconds are kept to the millisecond.
func (s *Store) Set(ctx context.Context, id string, value []byte, ttl time.Duration) error {
	if err := s.check(); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("redisstore: set session: ttl %v is not positive; pass the session lifetime, for example 24*time.Hour", ttl)
	}
	if ttl < time.Millisecond {
		ttl = time.Millisecond // the smallest TTL Redis accepts
	}
	if err := s.client.Set(ctx, s.prefix+id, value, ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: set session: %w", err)
	}
	return nil
}

// Delete removes id; a missing id is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.client.Del(ctx, s.prefix+id).Err(); err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	return nil
}

// casScript sets KEYS[1] to ARGV[2] with a time to live of ARGV[3]
// milliseconds when it holds exactly ARGV[1], atomically (Redis runs a script
// without interleaving other commands). It returns 1 when it did, 0 otherwise.
var casScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
	return 1
end
return 0
`)

// CompareAndSwap stores value under id for ttl only when Redis holds exactly
// old there, and reports whether it did; a missing or expired id is not
// swapped. kinde's web layer saves refreshed sessions with it, so that when
// several instances refresh one session, an older refresh token never
// overwrites a newer one.
func (s *Store) CompareAndSwap(ctx context.Context, id string, old, value []byte, ttl time.Duration) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, fmt.Errorf("redisstore: compare-and-swap session: ttl %v is not positive; pass the session lifetime, for example 24*time.Hour", ttl)
	}
	ms := max(ttl.Milliseconds(), 1) // the smallest TTL Redis accepts
	n, err := casScript.Run(ctx, s.client, []string{s.prefix + id}, old, value, ms).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: compare-and-swap session: %w", err)
	}
	return n == 1, nil
}

func (s *Store) check() error {
	if s == nil || s.client == nil {
		return errors.New("redisstore: no Redis client; create the store with redisstore.New(client)")
	}
	return nil
}
