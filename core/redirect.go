package kinde

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxRedirectLen bounds a return-to path.
const maxRedirectLen = 2048

// safeRedirectPath returns target as a same-origin path ("/dashboard?tab=1")
// and true, or "" and false when target could lead the browser anywhere
// else. It accepts an absolute URL only when its origin equals origin (which
// may be empty to accept paths only), and rejects scheme-relative forms
// ("//evil", "/\evil", "/%2F%2Fevil", "/%5Cevil"), any backslash, control
// characters and encoded variants of those, whatever the number of
// encodings.
func safeRedirectPath(target, origin string) (string, bool) {
	if target == "" || len(target) > maxRedirectLen {
		return "", false
	}
	if !strings.HasPrefix(target, "/") {
		if origin == "" {
			return "", false
		}
		u, err := url.Parse(target)
		if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil {
			return "", false
		}
		o, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Scheme, o.Scheme) || !strings.EqualFold(u.Host, o.Host) {
			return "", false
		}
		target = u.RequestURI()
		if u.Fragment != "" {
			target += "#" + u.EscapedFragment()
		}
		if !strings.HasPrefix(target, "/") {
			return "", false
		}
	}
	// Look at every decoding of the value: browsers and servers may decode
	// again, and "/%2F%2Fevil" becomes "//evil" after one pass.
	// Values still changing after a few decodings are rejected, not trusted.
	s := target
	for i := 0; ; i++ {
		if !safePathText(s, i > 0) {
			return "", false
		}
		d, err := url.PathUnescape(s)
		if err != nil || (d != s && i == 4) {
			// Malformed escapes, and escapes nested this deep, are not
			// something a real app links to.
			return "", false
		}
		if d == s {
			break
		}
		s = d
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	return target, true
}

// safePathText reports whether s is a path that cannot leave the site. A
// decoded form may contain plain spaces ("/search?q=a%20b"); the raw value
// may not.
func safePathText(s string, decoded bool) bool {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return false
	}
	if hasDotSegment(s) {
		return false
	}
	for _, r := range s {
		if r == ' ' && decoded {
			continue
		}
		if r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// hasDotSegment reports whether the path part of s has a "." or ".."
// segment. Browsers remove them, so "/.//evil.example" becomes the
// scheme-relative "//evil.example" once a later redirect repeats it.
func hasDotSegment(s string) bool {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	for seg := range strings.SplitSeq(s, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// originOf returns scheme://host of an absolute URL, or "".
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
