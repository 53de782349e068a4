package kinde

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
)

// The session record (in the cookie or the store) is a compact binary form
// of the tokens and the session's times.
//
// Version 2:
//
//	version byte (2), flags byte (recordPersistent, recordDeflated)
//	body length: uvarint, then the body, raw DEFLATE with recordDictionary
//	when recordDeflated is set:
//	  created (sign-in, Unix seconds): uvarint
//	  seen (last activity) - created, seconds: uvarint
//	  expires at - created, seconds: varint, then expires in: varint
//	  access token, ID token: a token each
//	  refresh token, scope, token type: uvarint length + bytes each
//
//	then the signatures of the JWTs, raw, in that order
//
// A token is a kind byte, then for recordTokenJWT the header and payload of
// a compact JWS decoded from base64url (uvarint length + bytes each) and the
// length of its signature (uvarint), and for recordTokenString the token as
// sent (uvarint length + bytes). Signatures are random bytes: kept out of
// DEFLATE, they leave its codes short, which keeps decoding fast and free of
// the allocations long codes cost. The JWT form
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

// recordCodec encodes and decodes session records, keeping DEFLATE's
// state (a 32 KB window to read, several hundred KB to write) for reuse
// rather than allocating it for every request. The zero value is ready.
type recordCodec struct {
	readers sync.Pool // io.ReadCloser from flate.NewReaderDict
	writers sync.Pool // *flate.Writer from flate.NewWriterDict
}

// encodeSession returns the record of r.
func encodeSession(r *sessionRecord) []byte { return new(recordCodec).encode(r) }

// decodeSession parses a record made by encodeSession (or a version 1
// record, which is given now as its sign-in and last activity).
func decodeSession(b []byte, now time.Time) (*sessionRecord, error) {
	return new(recordCodec).decode(b, now)
}

func (c *recordCodec) encode(r *sessionRecord) []byte {
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
	var sigs []byte
	body = appendToken(body, &sigs, t.AccessToken)
	body = appendToken(body, &sigs, t.IDToken)
	for _, f := range [...]string{t.RefreshToken, t.Scope, t.TokenType} {
		body = binary.AppendUvarint(body, uint64(len(f)))
		body = append(body, f...)
	}
	flags := byte(0)
	if r.persistent {
		flags |= recordPersistent
	}
	part := body
	if z := c.deflate(body); z != nil && len(z) < len(body) {
		flags |= recordDeflated
		part = z
	}
	out := make([]byte, 2, 2+binary.MaxVarintLen64+len(part)+len(sigs))
	out[0], out[1] = sessionRecordV2, flags
	out = binary.AppendUvarint(out, uint64(len(part)))
	out = append(out, part...)
	return append(out, sigs...)
}

// appendToken appends tok as a JWT of raw segments when that form gives
// back tok exactly, otherwise as a string.
func appendToken(b []byte, sigs *[]byte, tok string) []byte {
	if segs, ok := jwtSegments(tok); ok {
		b = append(b, recordTokenJWT)
		for _, s := range segs[:2] {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		b = binary.AppendUvarint(b, uint64(len(segs[2])))
		*sigs = append(*sigs, segs[2]...)
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

func (c *recordCodec) deflate(body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body))
	w, _ := c.writers.Get().(*flate.Writer)
	if w == nil {
		var err error
		if w, err = flate.NewWriterDict(&buf, flate.BestCompression, []byte(recordDictionary)); err != nil {
			return nil
		}
	} else {
		w.Reset(&buf)
	}
	defer c.writers.Put(w)
	if _, err := w.Write(body); err != nil {
		return nil
	}
	if err := w.Close(); err != nil {
		return nil
	}
	return buf.Bytes()
}

func (c *recordCodec) decode(b []byte, now time.Time) (*sessionRecord, error) {
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
	flags := b[1]
	n, k := binary.Uvarint(b[2:])
	if k <= 0 || n > uint64(len(b)-2-k) {
		return nil, errSessionRecord
	}
	body, sigs := b[2+k:2+k+int(n)], b[2+k+int(n):]
	if flags&recordDeflated != 0 {
		raw, err := c.inflate(body)
		if err != nil {
			return nil, err
		}
		body = raw
	}
	d := recordDecoder{b: body, sigs: sigs}
	created := d.uvarint()
	seen := d.uvarint()
	exp := d.varint()
	t := &Tokens{ExpiresIn: d.varint()}
	access, id := d.token(), d.token()
	refresh, scope, typ := d.bytes(), d.bytes(), d.bytes()
	if d.bad || len(d.b) != 0 || len(d.sigs) != 0 || access.empty() || created > 1<<40 || seen > 1<<40 {
		return nil, errSessionRecord
	}
	// The five strings share one allocation.
	var sb strings.Builder
	sb.Grow(access.len() + id.len() + len(refresh) + len(scope) + len(typ))
	access.writeTo(&sb)
	id.writeTo(&sb)
	sb.Write(refresh)
	sb.Write(scope)
	sb.Write(typ)
	all, i := sb.String(), 0
	next := func(n int) string { v := all[i : i+n]; i += n; return v }
	t.AccessToken, t.IDToken = next(access.len()), next(id.len())
	t.RefreshToken, t.Scope, t.TokenType = next(len(refresh)), next(len(scope)), next(len(typ))
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

// inflate decompresses a record body of at most maxSessionRecord bytes
// that ends where z ends.
func (c *recordCodec) inflate(z []byte) ([]byte, error) {
	br := bytes.NewReader(z)
	r, _ := c.readers.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReaderDict(br, []byte(recordDictionary))
	} else if err := r.(flate.Resetter).Reset(br, []byte(recordDictionary)); err != nil {
		return nil, errSessionRecord
	}
	defer c.readers.Put(r)
	out := bytes.NewBuffer(make([]byte, 0, 4*len(z)))
	n, err := out.ReadFrom(io.LimitReader(r, maxSessionRecord+1))
	if err != nil || n > maxSessionRecord || br.Len() != 0 {
		return nil, errSessionRecord
	}
	return out.Bytes(), nil
}

// recordDecoder reads the fields of a record body; after the first
// malformed field every read returns a zero value and bad is set.
type recordDecoder struct {
	b    []byte
	sigs []byte // the JWT signatures, which follow the body
	bad  bool
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

// recordToken is a token read from a record: a string as sent (str), or
// the raw segments of a JWT (jwt, when str is nil).
type recordToken struct {
	str   []byte
	jwt   [3][]byte
	isJWT bool
}

func (t recordToken) empty() bool { return !t.isJWT && len(t.str) == 0 }

func (t recordToken) len() int {
	if !t.isJWT {
		return len(t.str)
	}
	n := 2
	for _, s := range t.jwt {
		n += base64.RawURLEncoding.EncodedLen(len(s))
	}
	return n
}

func (t recordToken) writeTo(sb *strings.Builder) {
	if !t.isJWT {
		sb.Write(t.str)
		return
	}
	var buf [1024]byte
	for i, s := range t.jwt {
		if i > 0 {
			sb.WriteByte('.')
		}
		for len(s) > 0 {
			n := min(len(s), 768) // a multiple of 3: no padding bits mid-segment
			base64.RawURLEncoding.Encode(buf[:], s[:n])
			sb.Write(buf[:base64.RawURLEncoding.EncodedLen(n)])
			s = s[n:]
		}
	}
}

func (d *recordDecoder) token() recordToken {
	if len(d.b) == 0 {
		d.bad = true
		return recordToken{}
	}
	kind := d.b[0]
	d.b = d.b[1:]
	switch kind {
	case recordTokenString:
		return recordToken{str: d.bytes()}
	case recordTokenJWT:
		h, p, l := d.bytes(), d.bytes(), d.uvarint()
		if d.bad || l > uint64(len(d.sigs)) {
			d.bad, d.b = true, nil
			return recordToken{}
		}
		sig := d.sigs[:l]
		d.sigs = d.sigs[l:]
		return recordToken{jwt: [3][]byte{h, p, sig}, isJWT: true}
	}
	d.bad, d.b = true, nil
	return recordToken{}
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
