package load

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gokinde/kinde/e2e/internal/redistest"
)

// redisProc is a redis-server of one test that the test stops and starts
// again on the same port, as an operator restarts Redis. Unlike the shared
// server of TestMain (which may be REDIS_ADDR, out of the test's reach), it
// persists its data in an append-only file, so what was written before a
// stop is there after the start, as on a production Redis.
type redisProc struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	exited   chan error // closed when the process has exited
}

// startRedisProc starts redis-server from PATH on a free loopback port with
// its data in a temporary folder.
func startRedisProc(t *testing.T) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("the Redis restart phase needs redis-server on PATH (apt-get install redis-server): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &redisProc{bin: bin, dir: t.TempDir(), port: port}
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *redisProc) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// start runs redis-server and waits until it answers PING.
func (r *redisProc) start() error {
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
		"--loglevel", "warning")
	logf, err := os.OpenFile(filepath.Join(r.dir, "redis-server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", r.bin, err)
	}
	r.cmd, r.exited = cmd, make(chan error, 1)
	go func() { _ = cmd.Wait(); close(r.exited) }()
	if err := redistest.WaitForRedis(r.addr(), r.exited); err != nil {
		r.kill()
		return fmt.Errorf("redis-server on port %d: %w; its log:\n%s", r.port, err, r.log())
	}
	return nil
}

// stop shuts redis-server down as `systemctl stop` does (SIGTERM: it writes
// its append-only file and exits), killing it if it takes over 10 s.
func (r *redisProc) stop() error {
	if r.cmd == nil {
		return nil
	}
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		r.kill()
		return errors.New("redis-server ignored SIGTERM for 10 s and was killed")
	}
	r.cmd = nil
	return nil
}

// log returns the end of redis-server's log.
func (r *redisProc) log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "redis-server.log"))
	return trimString(string(b[max(0, len(b)-2000):]), 2000)
}

func (r *redisProc) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}
