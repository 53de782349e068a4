package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-redirect", "http://localhost:3000/cb"}, pw, &stderr)
		pw.Close()
	}()
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.HasPrefix(k, "KINDE_") {
			env[k] = v
		}
		if strings.HasPrefix(sc.Text(), "Users:") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	for _, k := range []string{"KINDE_DOMAIN", "KINDE_CLIENT_ID", "KINDE_CLIENT_SECRET", "KINDE_MANAGEMENT_CLIENT_ID", "KINDE_MANAGEMENT_CLIENT_SECRET", "KINDE_POST_LOGOUT_REDIRECT_URL"} {
		if env[k] == "" {
			t.Errorf("%s not printed", k)
		}
	}
	if env["KINDE_REDIRECT_URL"] != "http://localhost:3000/cb" {
		t.Errorf("KINDE_REDIRECT_URL = %q", env["KINDE_REDIRECT_URL"])
	}
	resp, err := http.Get(env["KINDE_DOMAIN"] + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"issuer":"`+env["KINDE_DOMAIN"]+`"`) {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v (stderr %s)", err, stderr.String())
	}
}

func TestRunRejectsNonLoopback(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-addr", "0.0.0.0:0"}, &out, &errb); err == nil {
		t.Fatal("run accepted a non-loopback address")
	}
}
