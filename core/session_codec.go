package kinde

import (
	"encoding/binary"
	"errors"
	"time"
)

// The session record (in the cookie or the store) is a compact binary form of
// Tokens rather than JSON: decoding it on every request is then a few slice
// operations instead of a reflective JSON decode of about 4 KB.
//
//	version byte (1)
//	access, id, refresh, scope, token type: uvarint length + bytes each
//	expires at (Unix seconds), expires in (seconds): varint each
const sessionRecordVersion = 1

var errSessionRecord = errors.New("kinde: stored session is not valid")

// sessionRecord is one session as read from the cookie or the store.
// (The smallest form of the shared record type; the record format work adds
// its lifetime fields.)
type sessionRecord struct {
	t *Tokens
}

func encodeSession(t *Tokens) []byte {
	fields := [...]string{t.AccessToken, t.IDToken, t.RefreshToken, t.Scope, t.TokenType}
	n := 1 + 2*binary.MaxVarintLen64
	for _, f := range fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, sessionRecordVersion)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	var exp int64
	if !t.ExpiresAt.IsZero() {
		exp = t.ExpiresAt.Unix()
	}
	b = binary.AppendVarint(b, exp)
	return binary.AppendVarint(b, t.ExpiresIn)
}

// decodeSession parses a record made by encodeSession. The strings share one
// allocation.
func decodeSession(b []byte) (*Tokens, error) {
	if len(b) < 1 || b[0] != sessionRecordVersion {
		return nil, errSessionRecord
	}
	all := string(b)
	i := 1
	var fields [5]string
	for k := range fields {
		l, n := binary.Uvarint(b[i:])
		if n <= 0 || l > uint64(len(b)-i-n) {
			return nil, errSessionRecord
		}
		i += n
		fields[k] = all[i : i+int(l)]
		i += int(l)
	}
	exp, n := binary.Varint(b[i:])
	if n <= 0 {
		return nil, errSessionRecord
	}
	i += n
	expIn, n := binary.Varint(b[i:])
	if n <= 0 || i+n != len(b) {
		return nil, errSessionRecord
	}
	t := &Tokens{AccessToken: fields[0], IDToken: fields[1], RefreshToken: fields[2], Scope: fields[3], TokenType: fields[4], ExpiresIn: expIn}
	if exp > 0 {
		t.ExpiresAt = time.Unix(exp, 0)
	}
	if t.AccessToken == "" {
		return nil, errSessionRecord
	}
	return t, nil
}
