package kinde

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gokinde/kinde/core/internal/jsonvalue"
	"math"
	"reflect"
)

// FlagType is the type of a feature flag's value.
type FlagType string

// Feature flag types. In tokens Kinde abbreviates them to "b", "i", "s" and
// "j"; FlagOfType accepts those codes as well as these names.
const (
	FlagBoolean FlagType = "boolean" // Value is a bool
	FlagInteger FlagType = "integer" // Value is an int64
	FlagString  FlagType = "string"  // Value is a string
	FlagJSON    FlagType = "json"    // Value is the flag's JSON, a json.RawMessage
)

// Errors returned by the feature flag helpers. Compare with errors.Is.
var (
	// ErrFlagNotFound means the flag is not in the access token and no
	// default was given.
	ErrFlagNotFound = errors.New("kinde: feature flag not found")
	// ErrFlagTypeMismatch means the flag's value (or the default used in its
	// place) is not of the requested type.
	ErrFlagTypeMismatch = errors.New("kinde: flag value type differs from the requested type")
)

// flagType maps a type name or Kinde's one-letter code to a FlagType. "o"
// and "object" name JSON flags too: older tokens and SDKs of Kinde used them.
func flagType(name string) (FlagType, bool) {
	switch name {
	case "b", string(FlagBoolean):
		return FlagBoolean, true
	case "i", string(FlagInteger):
		return FlagInteger, true
	case "s", string(FlagString):
		return FlagString, true
	case "j", string(FlagJSON), "o", "object":
		return FlagJSON, true
	}
	return "", false
}

// FlagValue is the value of one feature flag.
type FlagValue struct {
	Code string
	Type FlagType
	// Value is a bool, an int64, a string or, for JSON flags, the flag's
	// JSON as a json.RawMessage (decode it, or use Session.JSONFlag).
	Value any
	// IsDefault is true when the flag was absent and Value is the default.
	IsDefault bool
}

// FlagOption changes how Session.Flag reads a flag.
type FlagOption func(*flagParams)

type flagParams struct {
	def    any
	hasDef bool
	typ    FlagType
}

// FlagDefault is returned (with IsDefault true) when the flag is absent. Its
// Go type gives its flag type: bool, string, any integer (or whole float)
// for integer, and anything else for JSON. FlagDefault(nil) is the same as
// no default.
func FlagDefault(v any) FlagOption {
	return func(p *flagParams) { p.def, p.hasDef = v, v != nil }
}

// FlagOfType requires the flag to be of type t: FlagBoolean, FlagInteger,
// FlagString or FlagJSON, or Kinde's codes "b", "i", "s" and "j" ("o" and
// "object" also mean JSON).
func FlagOfType(t FlagType) FlagOption { return func(p *flagParams) { p.typ = t } }

const (
	claimFlags       = "feature_flags"
	claimHasuraFlags = "x-hasura-feature-flags"
)

// flagEntry is one member of the feature_flags claim as Kinde sent it.
type flagEntry struct {
	typ   string          // the t member, as sent
	value json.RawMessage // the v member; nil when absent
}

// flagEntries returns the members of the access token's feature_flags claim
// (or x-hasura-feature-flags) by code. A member that is not an object has a
// zero entry; a claim that is not an object gives none.
func flagEntries(c *Claims) map[string]flagEntry {
	raw, ok := lookup(c, claimFlags, claimHasuraFlags)
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	out := make(map[string]flagEntry, len(m))
	for code, item := range m {
		var e struct {
			T string          `json:"t"`
			V json.RawMessage `json:"v"`
		}
		if json.Unmarshal(item, &e) == nil && !isNull(e.V) {
			out[code] = flagEntry{typ: e.T, value: e.V}
		} else {
			out[code] = flagEntry{}
		}
	}
	return out
}

// parse decodes an entry whose value fits its type. ok is false for an
// entry without a value, with an unknown type, or whose value does not fit
// its type (such as "t":"b","v":"false").
func (e flagEntry) parse(code string) (FlagValue, bool) {
	t, known := flagType(e.typ)
	if !known || len(e.value) == 0 {
		return FlagValue{}, false
	}
	fv := FlagValue{Code: code, Type: t}
	switch t {
	case FlagBoolean:
		var b bool
		if json.Unmarshal(e.value, &b) != nil {
			return FlagValue{}, false
		}
		fv.Value = b
	case FlagInteger:
		var n json.Number
		if json.Unmarshal(e.value, &n) != nil {
			return FlagValue{}, false
		}
		i, ok := toInt64(n)
		if !ok {
			return FlagValue{}, false
		}
		fv.Value = i
	case FlagString:
		var s string
		if json.Unmarshal(e.value, &s) != nil {
			return FlagValue{}, false
		}
		fv.Value = s
	case FlagJSON:
		fv.Value = json.RawMessage(bytes.Clone(e.value))
	}
	return fv, true
}

// Flags returns the feature flags of the access token's feature_flags claim
// (or x-hasura-feature-flags), by code. Entries Kinde would not send (no
// value, an unknown type, a value that does not fit its type) are left out;
// HasFlags still counts them as present. Never nil.
func (s *Session) Flags() map[string]FlagValue {
	a, _ := s.snapshot()
	entries := flagEntries(a)
	out := make(map[string]FlagValue, len(entries))
	for code, e := range entries {
		if fv, ok := e.parse(code); ok {
			out[code] = fv
		}
	}
	return out
}

// Flag returns the feature flag code from the access token, as Kinde's SDKs
// do with get_flag(code, default, type).
//
// A flag in the token is returned whatever type its default has, unless
// FlagOfType asks for a type: then a flag of another type is an error
// wrapping ErrFlagTypeMismatch. When the flag is absent, the default
// (FlagDefault) is returned with IsDefault true, or, when FlagOfType asks
// for another type than the default's, an error wrapping
// ErrFlagTypeMismatch. Absent without a default, the error wraps
// ErrFlagNotFound; an entry without a value counts as absent. An entry of an
// unknown type, or whose value does not fit its type, is an error wrapping
// ErrFlagTypeMismatch.
func (s *Session) Flag(code string, opts ...FlagOption) (FlagValue, error) {
	var p flagParams
	for _, o := range opts {
		o(&p)
	}
	var want FlagType
	if p.typ != "" {
		t, ok := flagType(string(p.typ))
		if !ok {
			return FlagValue{}, fmt.Errorf("kinde: flag %q: unknown flag type %q: ask for %q, %q, %q or %q (or Kinde's codes b, i, s, j)",
				code, p.typ, FlagBoolean, FlagInteger, FlagString, FlagJSON)
		}
		want = t
	}
	var def *FlagValue
	if p.hasDef {
		d, err := defaultFlag(code, p.def, want)
		if err != nil {
			return FlagValue{}, err
		}
		def = &d
	}
	return s.flag(code, want, def)
}

// flag looks code up, checking its type against want unless want is empty.
func (s *Session) flag(code string, want FlagType, def *FlagValue) (FlagValue, error) {
	a, _ := s.snapshot()
	e, present := flagEntries(a)[code]
	if !present || len(e.value) == 0 {
		// An entry without a value is absent here, as for js-utils' getFlag
		// (value?.v ?? null), though HasFlags counts it as present.
		switch {
		case def == nil:
			return FlagValue{}, fmt.Errorf("%w: %q is not in the access token; give a default, or define the flag in Kinde", ErrFlagNotFound, code)
		case want != "" && def.Type != want:
			return FlagValue{}, fmt.Errorf("%w: flag %q is absent and its default is %s, %s was requested", ErrFlagTypeMismatch, code, def.Type, want)
		}
		return *def, nil
	}
	fv, ok := e.parse(code)
	if !ok {
		if _, known := flagType(e.typ); !known {
			return FlagValue{}, fmt.Errorf("%w: flag %q has the unknown type %q in the access token", ErrFlagTypeMismatch, code, e.typ)
		}
		return FlagValue{}, fmt.Errorf("%w: flag %q is typed %q in the access token but holds a %s value", ErrFlagTypeMismatch, code, e.typ, jsonKind(e.value))
	}
	if want != "" && fv.Type != want {
		return FlagValue{}, fmt.Errorf("%w: flag %q is %s, %s was requested", ErrFlagTypeMismatch, code, fv.Type, want)
	}
	return fv, nil
}

// jsonKind names the kind of a JSON value for error messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return "missing"
	case raw[0] == '"':
		return "string"
	case raw[0] == '{':
		return "object"
	case raw[0] == '[':
		return "array"
	case raw[0] == 't', raw[0] == 'f':
		return "boolean"
	}
	return "number"
}

// BoolFlag returns the value of the boolean flag code, or def when the flag
// is absent. A flag of another type is an error wrapping
// ErrFlagTypeMismatch. To tell an absent flag from one set to def, use Flag
// without a default.
func (s *Session) BoolFlag(code string, def bool) (bool, error) {
	fv, err := s.flag(code, FlagBoolean, &FlagValue{Code: code, Type: FlagBoolean, Value: def, IsDefault: true})
	if err != nil {
		return false, err
	}
	b, _ := fv.Value.(bool)
	return b, nil
}

// IntFlag returns the value of the integer flag code, or def when the flag
// is absent. Errors are as for BoolFlag.
func (s *Session) IntFlag(code string, def int64) (int64, error) {
	fv, err := s.flag(code, FlagInteger, &FlagValue{Code: code, Type: FlagInteger, Value: def, IsDefault: true})
	if err != nil {
		return 0, err
	}
	i, _ := fv.Value.(int64)
	return i, nil
}

// StringFlag returns the value of the string flag code, or def when the
// flag is absent. Errors are as for BoolFlag.
func (s *Session) StringFlag(code string, def string) (string, error) {
	fv, err := s.flag(code, FlagString, &FlagValue{Code: code, Type: FlagString, Value: def, IsDefault: true})
	if err != nil {
		return "", err
	}
	str, _ := fv.Value.(string)
	return str, nil
}

// JSONFlag decodes the JSON flag code into v, a non-nil pointer, as
// json.Unmarshal does. The default is what v holds before the call: when the
// flag is absent, v is left as it is and the error is nil. A flag of another
// type, or JSON that does not decode into v, is an error wrapping
// ErrFlagTypeMismatch.
func (s *Session) JSONFlag(code string, v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("kinde: JSONFlag(%q) needs a non-nil pointer to decode into, not %T", code, v)
	}
	fv, err := s.flag(code, FlagJSON, &FlagValue{Code: code, Type: FlagJSON, IsDefault: true})
	if err != nil {
		return err
	}
	if fv.IsDefault {
		return nil
	}
	raw, _ := fv.Value.(json.RawMessage)
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: flag %q does not decode into %T: %w", ErrFlagTypeMismatch, code, v, err)
	}
	return nil
}

// flagInput converts a Go value given by a caller (a default) to a flag
// type and canonical value: bool, int64, string, or the value as JSON.
func flagInput(v any) (FlagType, any, bool) {
	if n, ok := v.(json.Number); ok {
		i, ok := toInt64(n)
		return FlagInteger, i, ok
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return FlagBoolean, rv.Bool(), true
	case reflect.String:
		return FlagString, rv.String(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return FlagInteger, rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		i, ok := uintToInt64(rv.Uint())
		return FlagInteger, i, ok
	case reflect.Float32, reflect.Float64:
		i, ok := floatToInt64(rv.Float())
		return FlagInteger, i, ok
	case reflect.Invalid, reflect.Complex64, reflect.Complex128, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return "", nil, false
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "", nil, false
	}
	return FlagJSON, json.RawMessage(raw), true
}

// defaultFlag converts a default value to a flag value. With want FlagJSON
// any value that encodes as JSON is a JSON default; otherwise the value's Go
// type gives its flag type.
func defaultFlag(code string, v any, want FlagType) (FlagValue, error) {
	if want == FlagJSON {
		raw, err := json.Marshal(v)
		if err != nil {
			return FlagValue{}, fmt.Errorf("%w: flag %q: the default value %T does not encode as JSON: %w", ErrFlagTypeMismatch, code, v, err)
		}
		return FlagValue{Code: code, Type: FlagJSON, Value: json.RawMessage(raw), IsDefault: true}, nil
	}
	t, val, ok := flagInput(v)
	if !ok {
		return FlagValue{}, fmt.Errorf("%w: flag %q: the default value %v (%T) is not a bool, a whole number that fits in an int64, a string or a JSON value", ErrFlagTypeMismatch, code, v, v)
	}
	return FlagValue{Code: code, Type: t, Value: val, IsDefault: true}, nil
}

// FlagCondition is one condition of HasFlags: the flag Code must be present
// and, when Value is not nil, equal Value. Values compare as JSON, so
// integers compare numerically (int, int64, uint8, 3.0, json.Number … all
// match an integer flag of 3) and a JSON flag matches a map, slice, struct or
// json.RawMessage with the same JSON.
type FlagCondition struct {
	Code  string
	Value any
}

// HasFlags reports whether every condition holds for the access token's
// flags. With no conditions it reports true. As in Kinde's JavaScript SDKs, a
// flag is present when its code is in the claim, even if its value does not
// fit its type; a condition with a Value compares it with the value sent.
func (s *Session) HasFlags(conds ...FlagCondition) bool {
	if len(conds) == 0 {
		return true
	}
	a, _ := s.snapshot()
	entries := flagEntries(a)
	for _, c := range conds {
		e, ok := entries[c.Code]
		if !ok {
			return false
		}
		if c.Value != nil && !sameJSON(e.value, c.Value) {
			return false
		}
	}
	return true
}

// sameJSON reports whether the JSON raw and the Go value want encode alike.
func sameJSON(raw json.RawMessage, want any) bool {
	if len(raw) == 0 {
		return false
	}
	a, errA := canonicalJSON(raw)
	b, errB := canonicalJSON(want)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// canonicalJSON encodes v with sorted keys and whole numbers without a
// fraction, so equal values give equal bytes.
func canonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d, err := jsonvalue.Decode(b)
	if err != nil {
		return nil, err
	}
	return json.Marshal(canonicalNumbers(d))
}

func canonicalNumbers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = canonicalNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = canonicalNumbers(e)
		}
	}
	return v
}
