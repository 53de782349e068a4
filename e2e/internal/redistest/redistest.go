// Package redistest gives the root module's test packages a real Redis
// server: REDIS_ADDR when set, else a redis-server started from PATH on a free
// loopback port, and a failure (never a skip) naming the Debian package when
// neither is available. It is the root module's only Redis starter; the
// redisstore module has its own (see its main_test.go).
package redistest

import (
	"context"
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

// Main runs the tests of m with a Redis server whose address it stores in
// *addr, stops the server afterwards and fails the run when goroutines are
// left over. Call it from TestMain: os.Exit(redistest.Main(m, "e2e", &addr)).
func Main(m *testing.M, suite string, addr *string) int {
	stop := func() {}
	*addr = os.Getenv("REDIS_ADDR")
	if *addr == "" {
		var err error
		stop, *addr, err = startRedis()
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: the %s tests need a real Redis: %v\n", suite, err)
			return 1
		}
	}
	code := m.Run()
	stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: goroutines left running after the tests: %v\n", err)
			return 1
		}
	}
	return code
}

// startRedis starts redis-server on a free loopback port without persistence
// and waits until it answers.
func startRedis() (stop func(), addr string, err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("redis-server is not on PATH: install redis-server (apt-get install redis-server), or set REDIS_ADDR=host:port to a running server: %w", err)
	}
	var lastErr error
	for range 3 { // the port may be taken between choosing and binding it
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--loglevel", "warning")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
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
		if lastErr = WaitForRedis(addr, exited); lastErr == nil {
			return stop, addr, nil
		}
		stop()
	}
	return nil, "", fmt.Errorf("redis-server did not start: %w", lastErr)
}

// WaitForRedis waits up to 15 s until the redis-server at addr answers a
// PING, or returns an error when exited (the server process's Wait result)
// reports that it stopped first.
func WaitForRedis(addr string, exited <-chan error) error {
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer client.Close()
	for deadline := time.Now().Add(15 * time.Second); ; {
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
