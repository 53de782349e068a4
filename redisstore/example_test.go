package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/gokinde/kinde/redisstore"
	"github.com/redis/go-redis/v9"
)

// The store keeps each session under a key prefix with a time to live. This
// example runs against the Redis server named by REDIS_ADDR, which the tests of
// this package start.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	defer client.Close()

	store := redisstore.New(client, redisstore.WithPrefix("example:session:"))
	ctx := context.Background()

	if err := store.Set(ctx, "session-id", []byte(`{"sub":"kp_123"}`), 24*time.Hour); err != nil {
		log.Fatal(err)
	}
	value, err := store.Get(ctx, "session-id")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(value))

	if err := store.Delete(ctx, "session-id"); err != nil {
		log.Fatal(err)
	}
	_, err = store.Get(ctx, "session-id")
	fmt.Println(errors.Is(err, redisstore.ErrNotFound))
	// Output:
	// {"sub":"kp_123"}
	// true
}
