package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// testRedisAddr is the Redis server of this test binary: REDIS_ADDR, or a
// redis-server started by TestMain. It is set once, before any test runs.
var testRedisAddr string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	testRedisAddr = os.Getenv("REDIS_ADDR")
	stop := func() {}
	if testRedisAddr == "" {
		stopServer, addr, err := startRedisServer()
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: the redisstore tests need a real Redis: %v\n"+
				"(REDIS_ADDR=host:port uses an existing server instead: its keys under \"kinde-test:\" are used and removed.)\n", err)
			return 1
		}
		stop = stopServer
		testRedisAddr = addr
		// The runnable example reads the address from the environment, as an
		// application would.
		if err := os.Setenv("REDIS_ADDR", addr); err != nil {
			stop()
			fmt.Fprintf(os.Stderr, "FAIL: set REDIS_ADDR: %v\n", err)
			return 1
		}
	}
	code := m.Run()
	stop() // before the leak check, which would see the goroutine waiting for the server
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: goroutines left running after the tests: %v\n", err)
			return 1
		}
	}
	return code
}

// startRedisServer starts redis-server from PATH on a free loopback port, without
// persistence, and waits until it answers PING.
//
// The root module's tests have the same starter (e2e/internal/redistest).
// This module keeps its own: it is a library module that depends on go-redis
// alone, and it cannot import a package of the root module (internal there,
// and requiring the root module would bring its tools and test dependencies
// into the graph of every application that uses redisstore).
func startRedisServer() (stop func(), addr string, err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("redis-server is not on PATH: install redis-server (apt-get install redis-server), or set REDIS_ADDR=host:port to a running server: %w", err)
	}
	var lastErr error
	for range 3 { // the free port may be taken between choosing and binding it
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, "", err
		}
		cmd := exec.Command(bin,
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--save", "",
			"--appendonly", "no",
			"--loglevel", "warning",
		)
		cmd.Stdout = os.Stderr
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, "", fmt.Errorf("start %s: %w", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = waitForRedis(addr, exited); lastErr == nil {
			return stop, addr, nil
		}
		stop()
	}
	return nil, "", fmt.Errorf("redis-server did not start: %w", lastErr)
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitForRedis(addr string, exited <-chan error) error {
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer client.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newTestClient returns a client of the test server, closed when the test ends.
func newTestClient(t *testing.T) *redis.Client {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: testRedisAddr})
	t.Cleanup(func() {
		if err := client.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			t.Errorf("close client: %v", err)
		}
	})
	return client
}

// testPrefix returns a key prefix of this test alone, whose keys are removed when
// the test ends.
func testPrefix(t *testing.T) string {
	t.Helper()
	prefix := fmt.Sprintf("kinde-test:%s:%d:", t.Name(), time.Now().UnixNano())
	client := redis.NewClient(&redis.Options{Addr: testRedisAddr})
	t.Cleanup(func() {
		defer client.Close()
		deleteKeys(t, client, prefix+"*")
	})
	return prefix
}

func deleteKeys(t *testing.T, client *redis.Client, pattern string) {
	t.Helper()
	ctx := context.Background()
	iter := client.Scan(ctx, 0, pattern, 100).Iterator()
	for iter.Next(ctx) {
		if err := client.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("delete test key: %v", err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan test keys: %v", err)
	}
}
