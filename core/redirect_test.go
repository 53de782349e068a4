package kinde

import (
	"net/url"
	"strings"
	"testing"
)

const redirectTestOrigin = "https://app.example"

func TestSafeRedirectPath(t *testing.T) {
	tests := []struct {
		name   string
		target string
		origin string
		want   string
		ok     bool
	}{
		{"plain path", "/dashboard", "", "/dashboard", true},
		{"root", "/", "", "/", true},
		{"path with query", "/todos?tab=done&page=2", "", "/todos?tab=done&page=2", true},
		{"path with fragment", "/todos#top", "", "/todos#top", true},
		{"encoded query value", "/search?q=a%20b", "", "/search?q=a%20b", true},
		{"same origin absolute", "https://app.example/dashboard?x=1", redirectTestOrigin, "/dashboard?x=1", true},
		{"same origin absolute with fragment", "https://app.example/a#b", redirectTestOrigin, "/a#b", true},
		{"same origin host case", "https://APP.example/a", redirectTestOrigin, "/a", true},
		{"same origin without path", "https://app.example", redirectTestOrigin, "/", true},

		{"empty", "", "", "", false},
		{"too long", "/" + strings.Repeat("a", maxRedirectLen), "", "", false},
		{"scheme relative", "//evil.example", "", "", false},
		{"scheme relative with path", "//evil.example/dashboard", redirectTestOrigin, "", false},
		{"backslash", "/\\evil.example", "", "", false},
		// Security review, finding 15: browsers drop dot segments, so these
		// become the scheme-relative //evil.example when repeated.
		{"dot segment", "/.//evil.example", "", "", false},
		{"dot-dot segment", "/a/..//evil.example", "", "", false},
		{"encoded dot segment", "/%2e//evil.example", "", "", false},
		{"trailing dot-dot", "/a/b/..", "", "", false},
		{"dots in a name", "/a/v1.2/..x?q=../..", "", "/a/v1.2/..x?q=../..", true},
		{"double backslash", "\\\\evil.example", "", "", false},
		{"backslash later", "/a\\b", "", "", false},
		{"scheme without slashes", "https:evil.example", redirectTestOrigin, "", false},
		{"other origin", "https://evil.example", redirectTestOrigin, "", false},
		{"other origin, paths only", "https://app.example/a", "", "", false},
		{"other scheme", "http://app.example/a", redirectTestOrigin, "", false},
		{"other port", "https://app.example:8443/a", redirectTestOrigin, "", false},
		{"suffix host", "https://app.example.evil.example/a", redirectTestOrigin, "", false},
		{"userinfo", "https://app.example@evil.example/a", redirectTestOrigin, "", false},
		{"userinfo on own host", "https://evil@app.example/a", redirectTestOrigin, "", false},
		{"encoded slashes", "/%2F%2Fevil.example", "", "", false},
		{"encoded slashes lower case", "/%2f%2fevil.example", "", "", false},
		{"encoded backslash", "/%5Cevil.example", "", "", false},
		{"encoded without leading slash", "%2F%2Fevil.example", "", "", false},
		{"double encoded slashes", "/%252F%252Fevil.example", "", "", false},
		{"triple encoded slashes", "/%25252F%25252Fevil.example", "", "", false},
		{"encoded deeper than the decoding limit", "/" + encodeTimes("/evil.example", 7), "", "", false},
		{"tab", "/\t/evil.example", "", "", false},
		{"newline", "/\n/evil.example", "", "", false},
		{"encoded tab", "/%09/evil.example", "", "", false},
		{"space", "/ /evil.example", "", "", false},
		{"leading space", " //evil.example", "", "", false},
		{"javascript", "javascript:alert(1)", redirectTestOrigin, "", false},
		{"data", "data:text/html,hi", redirectTestOrigin, "", false},
		{"malformed escape", "/%zz", "", "", false},
		{"line separator", "/a\u2028b", "", "", false},
		{"invalid utf-8", "/a\xffb", "", "", false},
		{"encoded nul", "/a%00b", "", "", false},
		{"localhost suffix", "http://localhost.evil.example", "http://localhost", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := safeRedirectPath(tt.target, tt.origin)
			if got != tt.want || ok != tt.ok {
				t.Errorf("SafeRedirectPath(%q, %q) = %q, %v; want %q, %v", tt.target, tt.origin, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// encodeTimes percent-encodes every '/' of s and then the '%' signs n-1
// more times, so that n decodings give s back.
func encodeTimes(s string, n int) string {
	s = strings.ReplaceAll(s, "/", "%2F")
	for range n - 1 {
		s = strings.ReplaceAll(s, "%", "%25")
	}
	return s
}

// checkRedirectResult fails unless p is a path that stays on the site
// however many times it is percent-decoded, and resolves to the site's host.
func checkRedirectResult(t *testing.T, target, p string) {
	t.Helper()
	base, _ := url.Parse(redirectTestOrigin + "/base/")
	s := p
	for i := 0; ; i++ {
		if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.ContainsAny(s, "\\\t\r\n") {
			t.Fatalf("SafeRedirectPath(%q) = %q: decoding %d times gives %q", target, p, i, s)
		}
		if u, err := base.Parse(s); err == nil && u.Host != "app.example" {
			t.Fatalf("SafeRedirectPath(%q) = %q: decoding %d times gives %q, which leads to host %q", target, p, i, s, u.Host)
		}
		d, err := url.PathUnescape(s)
		if err != nil || d == s {
			break
		}
		s = d
	}
}

func FuzzSafeRedirectPath(f *testing.F) {
	for _, s := range []string{
		"/", "/dashboard", "/a?b=c#d", "//evil.example", "/\\evil.example", "https:evil.example",
		"https://evil.example", "/%2F%2Fevil.example", "/%5Cevil.example", "%2F%2Fevil.example",
		"/\t/evil.example", "javascript:alert(1)", "/%252F%252Fevil.example", "http://localhost.evil.example",
		"https://app.example/ok", "https://app.example//evil.example", "https://app.example/%2F%2Fevil",
		"/" + encodeTimes("/evil.example", 5), "/%25%32%46%25%32%46evil", "/.%2F/evil", "/%2e%2e/%2f/evil",
	} {
		f.Add(s, "")
		f.Add(s, redirectTestOrigin)
	}
	f.Fuzz(func(t *testing.T, target, origin string) {
		p, ok := safeRedirectPath(target, origin)
		if !ok {
			if p != "" {
				t.Fatalf("SafeRedirectPath(%q, %q) = %q, false; want an empty path when rejected", target, origin, p)
			}
			return
		}
		if origin == "" && p != target {
			t.Fatalf("SafeRedirectPath(%q, \"\") = %q; without an origin the path must be returned unchanged", target, p)
		}
		checkRedirectResult(t, target, p)
	})
}
