package load

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

// redisAddr is the Redis server of this test binary: REDIS_ADDR, or a
// redis-server started by TestMain.
var redisAddr string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	stop := func() {}
	redisAddr = os.Getenv("REDIS_ADDR")
	if redisAddr == "" {
		var err error
		stop, redisAddr, err = startRedis()
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: the load tests need a real Redis: %v\n"+
				"Set REDIS_ADDR=host:port, or put redis-server on PATH (Debian/Ubuntu: apt-get install -y redis-server).\n", err)
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

// startRedis starts redis-server on a free loopback port without
// persistence and waits until it answers.
func startRedis() (stop func(), addr string, err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("REDIS_ADDR is not set and redis-server is not on PATH: %w", err)
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
		if lastErr = ping(addr, exited); lastErr == nil {
			return stop, addr, nil
		}
		stop()
	}
	return nil, "", fmt.Errorf("redis-server did not start: %w", lastErr)
}

// ping waits until Redis at addr answers, for at most 15 seconds.
func ping(addr string, exited <-chan error) error {
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := client.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("no answer on %s: %w", addr, err)
		case <-tick.C:
		}
	}
}
