package kinde

import "github.com/gokinde/kinde/core/internal/jose"

// The claim reader uses the strict JSON scanner of internal/jose through
// these short names.

var errJSON = jose.ErrJSON

func scanObject(b []byte, fn func(key, value []byte, keyEscaped bool) error) error {
	return jose.ScanObject(b, fn)
}

func scanString(b []byte, i int) (end int, escaped bool, err error) { return jose.ScanString(b, i) }

func jsonString(raw []byte) (string, bool) { return jose.String(raw) }

func skipWS(b []byte, i int) int { return jose.SkipWS(b, i) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
