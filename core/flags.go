package kinde

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
)

// FlagType is the type of a feature flag's value.
type FlagType string

// Feature flag types. In tokens Kinde abbreviates them to "b", "i", "s" and
// "o"; the Account API spells them out.
const (
	FlagBoolean FlagType = "boolean" // Value is a bool
	FlagInteger FlagType = "integer" // Value is an int64
	FlagString  FlagType = "string"  // Value is a string
	FlagObject  FlagType = "object"  // Value is a decoded JSON value, usually map[string]any
)

// Errors returned by the feature flag helpers. Compare with errors.Is.
var (
	// ErrFlagNotFound means the flag is not in the token and no default was given.
	ErrFlagNotFound = errors.New("kinde: feature flag not found and no default value was given")
	// ErrFlagTypeMismatch means the flag (or the default) is not of the requested type.
	ErrFlagTypeMismatch = errors.New("kinde: feature flag is not of the requested type")
)

// FlagValue is the value of one feature flag.
type FlagValue struct {
	Code string
	Type FlagType
	// Value is a bool, int64, string or (object flags) a decoded JSON value.
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
// Go type also sets the expected type unless FlagOfType is given: bool,
// string, any integer (or whole float) for integer, and anything else for
// object. FlagDefault(nil) is the same as no default.
func FlagDefault(v any) FlagOption {
	return func(p *flagParams) { p.def, p.hasDef = v, v != nil }
}

// FlagOfType requires the flag to be of type t.
func FlagOfType(t FlagType) FlagOption { return func(p *flagParams) { p.typ = t } }

const (
	claimFlags       = "feature_flags"
	claimHasuraFlags = "x-hasura-feature-flags"
)

// Flags returns every feature flag of the access token's feature_flags claim
// (or x-hasura-feature-flags), by code. Malformed entries are skipped. Never nil.
func (s *Session) Flags() map[string]FlagValue {
	a, _ := s.snapshot()
	return tokenFlags(a)
}

func tokenFlags(c *Claims) map[string]FlagValue {
	out := map[string]FlagValue{}
	raw, ok := lookup(c, claimFlags, claimHasuraFlags)
	if !ok {
		return out
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return out
	}
	for code, item := range m {
		var e struct {
			T string          `json:"t"`
			V json.RawMessage `json:"v"`
		}
		if json.Unmarshal(item, &e) != nil || len(e.V) == 0 {
			continue
		}
		if fv, ok := parseFlag(code, e.T, e.V); ok {
			out[code] = fv
		}
	}
	return out
}

// parseFlag decodes a flag value of the given type name (short or long form).
func parseFlag(code, typ string, raw json.RawMessage) (FlagValue, bool) {
	fv := FlagValue{Code: code}
	switch typ {
	case "b", string(FlagBoolean):
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return fv, false
		}
		fv.Type, fv.Value = FlagBoolean, b
	case "i", string(FlagInteger):
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return fv, false
		}
		i, ok := toInt64(n)
		if !ok {
			return fv, false
		}
		fv.Type, fv.Value = FlagInteger, i
	case "s", string(FlagString):
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return fv, false
		}
		fv.Type, fv.Value = FlagString, s
	case "o", string(FlagObject), "json":
		v, err := decodeJSONValue(raw)
		if err != nil {
			return fv, false
		}
		fv.Type, fv.Value = FlagObject, v
	default:
		return fv, false
	}
	return fv, true
}

// flagInput converts a Go value given by a caller (a default or a
// condition) to a flag type and canonical value: bool, int64, string, or the
// value itself for objects.
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
	return FlagObject, v, true
}

// defaultFlag converts a default value to a flag value of its own type.
func defaultFlag(code string, v any) (FlagValue, error) {
	t, val, ok := flagInput(v)
	if !ok {
		return FlagValue{}, fmt.Errorf("kinde: flag %q: default value %v (%T) is not a bool, a whole number that fits in an int64, a string or an object: %w", code, v, v, ErrFlagTypeMismatch)
	}
	return FlagValue{Code: code, Type: t, Value: val, IsDefault: true}, nil
}

// Flag returns the feature flag code from the access token.
//
// When the flag is absent, the default (FlagDefault) is returned with
// IsDefault true; with no default the error wraps ErrFlagNotFound. When the
// requested type (FlagOfType, or else the default's type) differs from the
// flag's type, or FlagOfType differs from the default's type, the error wraps
// ErrFlagTypeMismatch.
func (s *Session) Flag(code string, opts ...FlagOption) (FlagValue, error) {
	var p flagParams
	for _, o := range opts {
		o(&p)
	}
	want := p.typ
	var def FlagValue
	if p.hasDef {
		var err error
		if def, err = defaultFlag(code, p.def); err != nil {
			return FlagValue{}, err
		}
		if want == "" {
			want = def.Type
		} else if def.Type != want {
			return FlagValue{}, fmt.Errorf("kinde: flag %q: the default value is of type %s, but type %s was requested: %w", code, def.Type, want, ErrFlagTypeMismatch)
		}
	}
	fv, ok := s.Flags()[code]
	if !ok {
		if p.hasDef {
			return def, nil
		}
		return FlagValue{}, fmt.Errorf("kinde: flag %q: %w: pass a default, or define the flag in Kinde", code, ErrFlagNotFound)
	}
	if want != "" && fv.Type != want {
		return FlagValue{}, fmt.Errorf("kinde: flag %q is of type %s, but type %s was requested: %w", code, fv.Type, want, ErrFlagTypeMismatch)
	}
	return fv, nil
}

// flagOpts builds the options of the typed getters.
func flagOpts[T any](t FlagType, def []T) []FlagOption {
	opts := []FlagOption{FlagOfType(t)}
	if len(def) > 0 {
		opts = append(opts, FlagDefault(def[0]))
	}
	return opts
}

// BoolFlag returns the value of the boolean flag code, or def[0] when the
// flag is absent (only the first default is used). Errors wrap
// ErrFlagNotFound (absent, no default) or ErrFlagTypeMismatch (not a boolean).
func (s *Session) BoolFlag(code string, def ...bool) (bool, error) {
	fv, err := s.Flag(code, flagOpts(FlagBoolean, def)...)
	if err != nil {
		return false, err
	}
	b, _ := fv.Value.(bool)
	return b, nil
}

// IntFlag returns the value of the integer flag code, or def[0] when the
// flag is absent. Errors are as for BoolFlag.
func (s *Session) IntFlag(code string, def ...int64) (int64, error) {
	fv, err := s.Flag(code, flagOpts(FlagInteger, def)...)
	if err != nil {
		return 0, err
	}
	i, _ := fv.Value.(int64)
	return i, nil
}

// StringFlag returns the value of the string flag code, or def[0] when the
// flag is absent. Errors are as for BoolFlag.
func (s *Session) StringFlag(code string, def ...string) (string, error) {
	fv, err := s.Flag(code, flagOpts(FlagString, def)...)
	if err != nil {
		return "", err
	}
	str, _ := fv.Value.(string)
	return str, nil
}

// FlagCondition is one condition of HasFlags: the flag Code must be present
// and, when Value is not nil, equal Value. Integers compare numerically
// (int, int64, uint8, 3.0, json.Number … all match an integer flag of 3).
type FlagCondition struct {
	Code  string
	Value any
}

// HasFlags reports whether every condition holds for the access token's
// flags. With no conditions it reports true.
func (s *Session) HasFlags(conds ...FlagCondition) bool {
	return flagsMatch(s.Flags(), conds)
}

func flagsMatch(flags map[string]FlagValue, conds []FlagCondition) bool {
	for _, c := range conds {
		fv, ok := flags[c.Code]
		if !ok {
			return false
		}
		if c.Value != nil && !flagEqual(fv, c.Value) {
			return false
		}
	}
	return true
}

func flagEqual(fv FlagValue, want any) bool {
	t, val, ok := flagInput(want)
	if !ok {
		return false
	}
	if fv.Type == FlagObject {
		a, errA := canonicalJSON(fv.Value)
		b, errB := canonicalJSON(want)
		return errA == nil && errB == nil && bytes.Equal(a, b)
	}
	return t == fv.Type && val == fv.Value
}

// canonicalJSON encodes v with sorted keys and whole numbers without a
// fraction, so equal values give equal bytes.
func canonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d, err := decodeJSONValue(b)
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
