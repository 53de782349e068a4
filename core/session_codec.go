package kinde

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"time"
)

// The session record (in the cookie or the store) is a compact binary form
// of the tokens and the session's times.
//
// Version 2:
//
//	version byte (2), flags byte (recordPersistent, recordDeflated)
//	body, raw DEFLATE with recordDictionary when recordDeflated is set:
//	  created (sign-in, Unix seconds): uvarint
//	  seen (last activity) - created, seconds: uvarint
//	  expires at - created, seconds: varint, then expires in: varint
//	  access token, ID token: a token each
//	  refresh token, scope, token type: uvarint length + bytes each
//
// A token is a kind byte, then for recordTokenJWT the three segments of a
// compact JWS decoded from base64url (uvarint length + bytes each), and for
// recordTokenString the token as sent (uvarint length + bytes). The JWT form
// is used only when re-encoding the segments gives back exactly the string
// Kinde sent, so the tokens a Session returns are byte for byte Kinde's.
// Decoding the base64 lets DEFLATE find what the ID token repeats from the
// access token (issuer, subject, client id, timestamps) and the claim names
// in the dictionary, and saves base64's third before the cookie codec
// applies its own.
//
// Version 1 (tokens only, no times) is still read, as a session seen now,
// so that upgrading does not sign users out where the cookie name stays.
const (
	sessionRecordV1 = 1
	sessionRecordV2 = 2

	recordPersistent = 1 << 0 // the cookie outlives the browser session
	recordDeflated   = 1 << 1 // the body is compressed
	recordFlagsKnown = recordPersistent | recordDeflated

	recordTokenString = 0
	recordTokenJWT    = 1

	// maxSessionRecord bounds a decompressed body: far more than ten full
	// cookies carry, so a record, authenticated or not, cannot make the
	// decoder allocate without limit.
	maxSessionRecord = 256 << 10
)

// recordDictionary primes DEFLATE with what Kinde's tokens are made of
// (claim names and common values; kinde-protocol.md, "Tokens"), the most
// frequent last, where matches cost the fewest bits.
const recordDictionary = `"x-hasura-org-codes":["org_"x-hasura-permissions":["x-hasura-roles":` +
	`"external_organization_id":"organization_properties":{"application_properties":{"user_properties":{"kp_usr_` +
	`"ext_provider":{"claims":{"connection_id":"","provided_id":"phone_number":"","picture":"https://` +
	`"organizations":[{"id":"org_","name":"","org_name":"","preferred_username":"","updated_at":17` +
	`"email_verified":true,"family_name":"","given_name":"","name":"","email":"@example.com","at_hash":"` +
	`"auth_time":17,"rat":17,"org_codes":["org_"],"nonce":"","sid":"","ksp":{"persistent":true},` +
	`"feature_flags":{"":{"t":"b","v":false},"":{"t":"s","v":"","":{"t":"i","v":},` +
	`"roles":[{"id":"","key":"admin","name":"Admin"},{"id":"","key":"member","name":"Member"}],` +
	`"permissions":["create:","read:","update:","delete:"],"org_code":"org_","scp":["openid","profile","email","offline"],` +
	`{"aud":[],"azp":"","exp":17,"iat":17,"iss":"https://.kinde.com","jti":"","sub":"kp_","v":"2",` +
	`openid profile email offlinebearer{"alg":"RS256","kid":"","typ":"JWT"}`

var errSessionRecord = errors.New("kinde: stored session is not valid")

// encodeSession returns the record of r.
func encodeSession(r *sessionRecord) []byte {
	t := r.t
	created := max(r.created.Unix(), 0)
	body := make([]byte, 0, 64+len(t.AccessToken)+len(t.IDToken)+len(t.RefreshToken)+len(t.Scope)+len(t.TokenType))
	body = binary.AppendUvarint(body, uint64(created))
	body = binary.AppendUvarint(body, uint64(max(r.seen.Unix()-created, 0)))
	var exp int64
	if !t.ExpiresAt.IsZero() {
		exp = t.ExpiresAt.Unix() - created
	}
	body = binary.AppendVarint(body, exp)
	body = binary.AppendVarint(body, t.ExpiresIn)
	body = appendToken(body, t.AccessToken)
	body = appendToken(body, t.IDToken)
	for _, f := range [...]string{t.RefreshToken, t.Scope, t.TokenType} {
		body = binary.AppendUvarint(body, uint64(len(f)))
		body = append(body, f...)
	}
	flags := byte(0)
	if r.persistent {
		flags |= recordPersistent
	}
	out := make([]byte, 2, 2+len(body))
	out[0] = sessionRecordV2
	if z := deflateRecord(body); z != nil && len(z) < len(body) {
		flags |= recordDeflated
		out = append(out, z...)
	} else {
		out = append(out, body...)
	}
	out[1] = flags
	return out
}

// appendToken appends tok as a JWT of raw segments when that form gives
// back tok exactly, otherwise as a string.
func appendToken(b []byte, tok string) []byte {
	if segs, ok := jwtSegments(tok); ok {
		b = append(b, recordTokenJWT)
		for _, s := range segs {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		return b
	}
	b = append(b, recordTokenString)
	b = binary.AppendUvarint(b, uint64(len(tok)))
	return append(b, tok...)
}

// jwtSegments decodes the three segments of a compact JWS, or reports false
// when tok is not one in canonical unpadded base64url (then only the string
// itself round-trips).
func jwtSegments(tok string) ([3][]byte, bool) {
	var segs [3][]byte
	rest := tok
	for i := range segs {
		s := rest
		if i < 2 {
			var ok bool
			if s, rest, ok = strings.Cut(rest, "."); !ok {
				return segs, false
			}
		} else if strings.IndexByte(s, '.') >= 0 {
			return segs, false
		}
		if strings.ContainsAny(s, "\r\n") {
			return segs, false
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil || base64.RawURLEncoding.EncodeToString(b) != s {
			return segs, false
		}
		segs[i] = b
	}
	return segs, true
}

func deflateRecord(body []byte) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriterDict(&buf, flate.BestCompression, []byte(recordDictionary))
	if err != nil {
		return nil
	}
	if _, err := w.Write(body); err != nil {
		return nil
	}
	if err := w.Close(); err != nil {
		return nil
	}
	return buf.Bytes()
}

// decodeSession parses a record made by encodeSession (or a version 1
// record, which is given now as its sign-in and last activity).
func decodeSession(b []byte, now time.Time) (*sessionRecord, error) {
	if len(b) >= 1 && b[0] == sessionRecordV1 {
		t, err := decodeSessionV1(b)
		if err != nil {
			return nil, err
		}
		return &sessionRecord{t: t, created: now, seen: now, persistent: true}, nil
	}
	if len(b) < 2 || b[0] != sessionRecordV2 || b[1]&^recordFlagsKnown != 0 {
		return nil, errSessionRecord
	}
	flags, body := b[1], b[2:]
	if flags&recordDeflated != 0 {
		br := bytes.NewReader(body)
		r := flate.NewReaderDict(br, []byte(recordDictionary))
		raw, err := io.ReadAll(io.LimitReader(r, maxSessionRecord+1))
		if err != nil || len(raw) > maxSessionRecord || br.Len() != 0 {
			return nil, errSessionRecord
		}
		body = raw
	}
	d := recordDecoder{b: body}
	created := d.uvarint()
	seen := d.uvarint()
	exp := d.varint()
	t := &Tokens{ExpiresIn: d.varint()}
	t.AccessToken = d.token()
	t.IDToken = d.token()
	t.RefreshToken = d.str()
	t.Scope = d.str()
	t.TokenType = d.str()
	if d.bad || len(d.b) != 0 || t.AccessToken == "" || created > 1<<40 || seen > 1<<40 {
		return nil, errSessionRecord
	}
	if exp != 0 {
		t.ExpiresAt = time.Unix(int64(created)+exp, 0)
	}
	return &sessionRecord{
		t:          t,
		created:    time.Unix(int64(created), 0),
		seen:       time.Unix(int64(created+seen), 0),
		persistent: flags&recordPersistent != 0,
	}, nil
}

// recordDecoder reads the fields of a record body; after the first
// malformed field every read returns a zero value and bad is set.
type recordDecoder struct {
	b   []byte
	bad bool
}

func (d *recordDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 || v > 1<<40 || v < -(1<<40) {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) bytes() []byte {
	l := d.uvarint()
	if d.bad || l > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return nil
	}
	v := d.b[:l]
	d.b = d.b[l:]
	return v
}

func (d *recordDecoder) str() string { return string(d.bytes()) }

func (d *recordDecoder) token() string {
	if len(d.b) == 0 {
		d.bad = true
		return ""
	}
	kind := d.b[0]
	d.b = d.b[1:]
	switch kind {
	case recordTokenString:
		return d.str()
	case recordTokenJWT:
		segs := [3][]byte{d.bytes(), d.bytes(), d.bytes()}
		if d.bad {
			return ""
		}
		n := 2
		for _, s := range segs {
			n += base64.RawURLEncoding.EncodedLen(len(s))
		}
		out := make([]byte, 0, n)
		for i, s := range segs {
			if i > 0 {
				out = append(out, '.')
			}
			out = base64.RawURLEncoding.AppendEncode(out, s)
		}
		return string(out)
	}
	d.bad, d.b = true, nil
	return ""
}

// decodeSessionV1 parses a version 1 record: version byte; access, id,
// refresh, scope, token type as uvarint length + bytes each; expires at
// (Unix seconds) and expires in (seconds) as varints.
func decodeSessionV1(b []byte) (*Tokens, error) {
	d := recordDecoder{b: b[1:]}
	t := &Tokens{AccessToken: d.str(), IDToken: d.str(), RefreshToken: d.str(), Scope: d.str(), TokenType: d.str()}
	exp := d.varint()
	t.ExpiresIn = d.varint()
	if d.bad || len(d.b) != 0 || t.AccessToken == "" {
		return nil, errSessionRecord
	}
	if exp > 0 {
		t.ExpiresAt = time.Unix(exp, 0)
	}
	return t, nil
}
