package kinde_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

func heapNow() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// Issue 18, item 4 ("Memory is bounded by entry count, not bytes, and not
// released"): with large tokens the default cache of 10,000 entries took
// 114 MiB, and expired tokens stayed until evicted. With the default
// configuration, 1,200 distinct 5 KB tokens whose permissions a guard read
// take at most the default 16 MiB budget (plus the estimate's margin), and
// after they expire the memory is given back.
func TestVerifiedTokenCacheMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("signs 1,200 tokens")
	}
	srv := kindetest.Start(t)
	user := srv.AddUser(kindetest.User{Email: "big@example.com"})
	org := srv.AddOrganization(kindetest.Organization{Name: "Big"})
	var perms []string
	for i := range 190 { // about 5 KB per access token
		perms = append(perms, fmt.Sprintf("read:resource_%03d", i))
	}
	srv.AddRole(kindetest.Role{Key: "admin", Name: "Admin", Permissions: perms})
	if err := srv.AddMember(org.Code, user.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	c := kinde.MustNew(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), Now: srv.Now})
	ctx := context.Background()
	tokens := make([]string, 1200)
	for i := range tokens {
		r, err := srv.IssueTokens(user.ID, kindetest.IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = r.AccessToken
	}
	if n := len(tokens[0]); n < 4500 || n > 6000 {
		t.Fatalf("access token of %d bytes, want about 5 KB", n)
	}
	if _, err := c.VerifyAccessToken(ctx, tokens[0]); err != nil { // key set fetched before measuring
		t.Fatal(err)
	}
	before := heapNow()
	for _, tok := range tokens {
		s, err := c.Session(ctx, &kinde.Tokens{AccessToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if !s.HasPermissions("read:resource_189") {
			t.Fatal("permission missing")
		}
	}
	full := heapNow() - before
	const budget = 16 << 20
	t.Logf("1,200 distinct 5 KB tokens: %.1f MiB", float64(full)/(1<<20))
	if full > budget*11/10 {
		t.Fatalf("the verified-token cache holds %.1f MiB with the default configuration, want at most %.1f MiB", float64(full)/(1<<20), float64(budget)/(1<<20))
	}

	srv.Advance(25 * time.Hour) // every token expired
	for i := range 1000 {       // requests with other tokens reach every shard
		_, _ = c.VerifyAccessToken(ctx, fmt.Sprintf("not-a-token-%d", i))
	}
	after := heapNow() - before
	runtime.KeepAlive(c)
	runtime.KeepAlive(tokens)
	t.Logf("after expiry: %.1f MiB", float64(after)/(1<<20))
	if after > 1<<20 {
		t.Fatalf("%.1f MiB still held after every cached token expired", float64(after)/(1<<20))
	}
}
