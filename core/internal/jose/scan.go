// Package jose holds the JOSE pieces of package kinde's token verifier: a
// strict one-pass JSON object scanner, compact JWS parsing and RS256
// signature checks, and JWKS parsing. It takes plain inputs and returns its
// own errors, which package kinde maps to its public ones.
package jose

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// A small, strict JSON reader for the two objects the verifier reads on every
// new token: the JOSE header and the claim set. It walks the top-level
// members once, validating every value it skips, so the verifier neither
// re-parses the same bytes nor decodes claims it does not need through
// reflection. Anything encoding/json would reject is rejected here too
// (FuzzScanObject checks this against encoding/json).

// ErrJSON means the input is not valid JSON of the expected shape.
var ErrJSON = errors.New("invalid JSON")

// maxJSONDepth bounds nesting inside claim values.
const maxJSONDepth = 64

// ScanObject calls fn for each member of the JSON object in b, with the raw
// key (without quotes, still escaped) and the raw value. It fails on
// malformed input or trailing data.
func ScanObject(b []byte, fn func(key, value []byte, keyEscaped bool) error) error {
	i := SkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return ErrJSON
	}
	i = SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		if SkipWS(b, i+1) != len(b) {
			return ErrJSON
		}
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return ErrJSON
		}
		end, escaped, err := ScanString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : end-1]
		i = SkipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return ErrJSON
		}
		i = SkipWS(b, i+1)
		vend, err := skipValue(b, i, 0)
		if err != nil {
			return err
		}
		if err := fn(key, b[i:vend], escaped); err != nil {
			return err
		}
		i = SkipWS(b, vend)
		if i >= len(b) {
			return ErrJSON
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case '}':
			if SkipWS(b, i+1) != len(b) {
				return ErrJSON
			}
			return nil
		default:
			return ErrJSON
		}
	}
}

// SkipWS returns the index of the first byte at or after i that is not JSON
// white space.
func SkipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// ScanString returns the index just past the closing quote of the string
// starting at b[i], and whether it contains escapes.
func ScanString(b []byte, i int) (end int, escaped bool, err error) {
	i++ // opening quote
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, ErrJSON
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, false, ErrJSON
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return 0, false, ErrJSON
					}
				}
				i += 6
			default:
				return 0, false, ErrJSON
			}
		case c < 0x20:
			return 0, false, ErrJSON
		case c < utf8.RuneSelf:
			i++
		default:
			// encoding/json replaces invalid UTF-8 rather than failing;
			// accept it the same way.
			_, size := utf8.DecodeRune(b[i:])
			i += size
		}
	}
	return 0, false, ErrJSON
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skipValue validates the value starting at b[i] and returns its end.
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, ErrJSON
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := ScanString(b, i)
		return end, err
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return 0, ErrJSON
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = SkipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, nil
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, ErrJSON
				}
				end, _, err := ScanString(b, i)
				if err != nil {
					return 0, err
				}
				i = SkipWS(b, end)
				if i >= len(b) || b[i] != ':' {
					return 0, ErrJSON
				}
				i = SkipWS(b, i+1)
			}
			end, err := skipValue(b, i, depth+1)
			if err != nil {
				return 0, err
			}
			i = SkipWS(b, end)
			if i >= len(b) {
				return 0, ErrJSON
			}
			if b[i] == closer {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, ErrJSON
			}
			i = SkipWS(b, i+1)
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	default:
		return skipNumber(b, i)
	}
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, ErrJSON
	}
	return i + len(lit), nil
}

// skipNumber validates a JSON number per RFC 8259.
func skipNumber(b []byte, i int) (int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0, ErrJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, ErrJSON
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, ErrJSON
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i == start {
		return 0, ErrJSON
	}
	return i, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// String decodes a raw JSON string value; ok is false for non-strings.
func String(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			// Escapes and non-ASCII text are rare in registered claims;
			// let encoding/json apply its exact rules.
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return "", false
			}
			return s, true
		}
	}
	return string(inner), true
}

// ScanArray calls fn for each element of the JSON array in b, with the raw
// element. It fails on malformed input or trailing data.
func ScanArray(b []byte, fn func(elem []byte) error) error {
	i := SkipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return ErrJSON
	}
	i = SkipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		if SkipWS(b, i+1) != len(b) {
			return ErrJSON
		}
		return nil
	}
	for {
		end, err := skipValue(b, i, 1)
		if err != nil {
			return err
		}
		if err := fn(b[i:end]); err != nil {
			return err
		}
		i = SkipWS(b, end)
		if i >= len(b) {
			return ErrJSON
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case ']':
			if SkipWS(b, i+1) != len(b) {
				return ErrJSON
			}
			return nil
		default:
			return ErrJSON
		}
	}
}
