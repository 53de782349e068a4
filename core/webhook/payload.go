package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// registered holds the registered JWT claims a payload may carry. Kinde's
// webhook payloads carry none, but a payload that has them is held to them.
type registered struct {
	issuer                       string
	hasIssuer                    bool
	expires, notBefore, issuedAt time.Time
}

// parsePayload decodes a verified payload: Kinde's event members (type,
// event_id, source, timestamp, event_timestamp, ip_address, data) and the
// registered claims iss, exp, nbf and iat. Every member may appear once;
// members it does not know are skipped. type, event_id and timestamp are
// required. Errors wrap ErrMalformed.
func parsePayload(payload []byte) (Event, registered, error) {
	e, reg, err := decodePayload(payload)
	if err != nil {
		return Event{}, registered{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, reg, nil
}

func decodePayload(payload []byte) (Event, registered, error) {
	var (
		e   Event
		reg registered
	)
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return e, reg, errors.New("payload is not a JSON object")
	}
	seen := make(map[string]bool, 8)
	var hasTimestamp bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return e, reg, errors.New("payload is not a JSON object")
		}
		name, _ := tok.(string)
		if seen[name] {
			return e, reg, fmt.Errorf("member %q appears twice", truncate(name, 40))
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return e, reg, errors.New("payload is not a JSON object")
		}
		if string(raw) == "null" {
			continue // a null member counts as absent
		}
		switch name {
		case "type":
			err = readString(name, raw, &e.Type)
		case "event_id":
			err = readString(name, raw, &e.ID)
		case "source":
			err = readString(name, raw, &e.Source)
		case "ip_address":
			err = readString(name, raw, &e.IPAddress)
		case "timestamp":
			e.Timestamp, err = readTime(name, raw)
			hasTimestamp = true
		case "event_timestamp":
			e.EventTimestamp, err = readTime(name, raw)
		case "data":
			e.Data = raw
		case "iss":
			err = readString(name, raw, &reg.issuer)
			reg.hasIssuer = true
		case "exp":
			reg.expires, err = numericDate(name, raw)
		case "nbf":
			reg.notBefore, err = numericDate(name, raw)
		case "iat":
			reg.issuedAt, err = numericDate(name, raw)
		}
		if err != nil {
			return e, reg, err
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return e, reg, errors.New("payload is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return e, reg, errors.New("payload has data after its JSON object")
	}
	switch {
	case e.Type == "":
		return e, reg, errors.New("type is missing")
	case e.ID == "":
		return e, reg, errors.New("event_id is missing, so a replay could not be recognised")
	case !hasTimestamp:
		return e, reg, errors.New("timestamp is missing")
	}
	return e, reg, nil
}

func readString(name string, raw json.RawMessage, dst *string) error {
	if len(raw) == 0 || raw[0] != '"' {
		return fmt.Errorf("%s must be a string", name)
	}
	return json.Unmarshal(raw, dst)
}

// readTime reads an event time: an RFC 3339 string, as Kinde sends it (with
// milliseconds or microseconds, in UTC or with an offset such as +10:00),
// or a number of seconds since 1970.
func readTime(name string, raw json.RawMessage) (time.Time, error) {
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", name, truncate(s, 40))
		}
		return t, nil
	}
	return numericDate(name, raw)
}

// maxSeconds is the last second of year 9999.
const maxSeconds = 253402300799

// numericDate reads a JSON number of seconds since 1970 (RFC 7519 §2).
func numericDate(name string, raw json.RawMessage) (time.Time, error) {
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return time.Time{}, fmt.Errorf("%s must be a number of seconds since 1970", name)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxSeconds {
		return time.Time{}, fmt.Errorf("%s %s is not a time between 1970 and 9999", name, truncate(string(raw), 40))
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC(), nil
}

// truncate shortens s to n bytes for error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
