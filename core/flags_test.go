package kinde_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// TestSeedFlagExample is the Ruby SDK's flag example (ruby-sdk.mdx "Feature
// flags"; spec/kinde_sdk_spec.rb): flags asd (boolean true), eeeeee (integer
// 111) and qqq (string "aa"), issued by the emulator. Its get_*_flag(code)
// without a default becomes a getter with a default here.
func TestSeedFlagExample(t *testing.T) {
	srv := kindetest.Start(t, kindetest.WithSigningKey(sessionTestKey()))
	user := srv.AddUser(kindetest.User{Email: "seed@example.com"})
	must(t, srv.SetFlag("asd", true))
	must(t, srv.SetFlag("eeeeee", 111))
	must(t, srv.SetFlag("qqq", "aa"))
	tr, err := srv.IssueTokens(user.ID, kindetest.IssueOptions{})
	must(t, err)
	c, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()})
	must(t, err)
	s, err := c.Session(t.Context(), toTokens(tr))
	must(t, err)

	flagValue := func(fv kinde.FlagValue, err error) (any, error) { return fv.Value, err }
	tests := []struct {
		name    string
		call    func() (any, error)
		want    any
		wantErr error
	}{
		{`get_flag("asd")`, func() (any, error) { return flagValue(s.Flag("asd")) }, true, nil},
		{`get_flag("eeeeee")`, func() (any, error) { return flagValue(s.Flag("eeeeee")) }, int64(111), nil},
		{`get_flag("qqq")`, func() (any, error) { return flagValue(s.Flag("qqq")) }, "aa", nil},
		{`get_flag("undefined", {default_value: true})`, func() (any, error) {
			return flagValue(s.Flag("undefined", kinde.FlagDefault(true)))
		}, true, nil},
		{`get_flag("undefined_int", {default_value: 111}, "i")`, func() (any, error) {
			return flagValue(s.Flag("undefined_int", kinde.FlagDefault(111), kinde.FlagOfType("i")))
		}, int64(111), nil},
		{`get_flag("flag", {default_value: 1}, "s")`, func() (any, error) {
			return flagValue(s.Flag("flag", kinde.FlagDefault(1), kinde.FlagOfType("s")))
		}, nil, kinde.ErrFlagTypeMismatch},
		{`get_boolean_flag("eeeeee")`, func() (any, error) { return s.BoolFlag("eeeeee", false) }, nil, kinde.ErrFlagTypeMismatch},
		{`get_boolean_flag("asd")`, func() (any, error) { return s.BoolFlag("asd", false) }, true, nil},
		{`get_boolean_flag("undefined", false)`, func() (any, error) { return s.BoolFlag("undefined", false) }, false, nil},
		{`get_integer_flag("asd")`, func() (any, error) { return s.IntFlag("asd", 0) }, nil, kinde.ErrFlagTypeMismatch},
		{`get_integer_flag("eeeeee")`, func() (any, error) { return s.IntFlag("eeeeee", 0) }, int64(111), nil},
		{`get_integer_flag("undefined", 123)`, func() (any, error) { return s.IntFlag("undefined", 123) }, int64(123), nil},
		{`get_string_flag("qqq")`, func() (any, error) { return s.StringFlag("qqq", "") }, "aa", nil},
		{`get_string_flag("undefined", "111")`, func() (any, error) { return s.StringFlag("undefined", "111") }, "111", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v; want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

// newFlagFixture is the session fixture with a JSON flag next to the
// boolean, integer and string ones.
func newFlagFixture(t *testing.T, opts ...kindetest.Option) *sessionFixture {
	t.Helper()
	f := newSessionFixture(t, opts...)
	must(t, f.srv.SetFlag("layout", map[string]any{"columns": 2, "name": "grid"}))
	return f
}

func TestFlag(t *testing.T) {
	f := newFlagFixture(t)
	s := f.session(t)
	tests := []struct {
		name    string
		code    string
		opts    []kinde.FlagOption
		want    kinde.FlagValue
		wantErr error
	}{
		{"boolean", "dark_mode", nil, kinde.FlagValue{Code: "dark_mode", Type: kinde.FlagBoolean, Value: true}, nil},
		{"integer", "max_items", nil, kinde.FlagValue{Code: "max_items", Type: kinde.FlagInteger, Value: int64(25)}, nil},
		{"string", "theme", nil, kinde.FlagValue{Code: "theme", Type: kinde.FlagString, Value: "pink"}, nil},
		{"JSON", "layout", nil, kinde.FlagValue{Code: "layout", Type: kinde.FlagJSON, Value: json.RawMessage(`{"columns":2,"name":"grid"}`)}, nil},
		{"absent without default", "nope", nil, kinde.FlagValue{}, kinde.ErrFlagNotFound},
		{"absent with default", "nope", []kinde.FlagOption{kinde.FlagDefault("x")},
			kinde.FlagValue{Code: "nope", Type: kinde.FlagString, Value: "x", IsDefault: true}, nil},
		{"absent with int default", "nope", []kinde.FlagOption{kinde.FlagDefault(7)},
			kinde.FlagValue{Code: "nope", Type: kinde.FlagInteger, Value: int64(7), IsDefault: true}, nil},
		{"absent with whole float default", "nope", []kinde.FlagOption{kinde.FlagDefault(7.0), kinde.FlagOfType(kinde.FlagInteger)},
			kinde.FlagValue{Code: "nope", Type: kinde.FlagInteger, Value: int64(7), IsDefault: true}, nil},
		{"absent with map default", "nope", []kinde.FlagOption{kinde.FlagDefault(map[string]any{"a": 1})},
			kinde.FlagValue{Code: "nope", Type: kinde.FlagJSON, Value: json.RawMessage(`{"a":1}`), IsDefault: true}, nil},
		{"absent, JSON type, bool default", "nope", []kinde.FlagOption{kinde.FlagDefault(true), kinde.FlagOfType("j")},
			kinde.FlagValue{Code: "nope", Type: kinde.FlagJSON, Value: json.RawMessage(`true`), IsDefault: true}, nil},
		{"nil default is no default", "nope", []kinde.FlagOption{kinde.FlagDefault(nil)}, kinde.FlagValue{}, kinde.ErrFlagNotFound},
		{"present ignores default", "theme", []kinde.FlagOption{kinde.FlagDefault("blue")},
			kinde.FlagValue{Code: "theme", Type: kinde.FlagString, Value: "pink"}, nil},
		{"present ignores a default of another type", "theme", []kinde.FlagOption{kinde.FlagDefault(true)},
			kinde.FlagValue{Code: "theme", Type: kinde.FlagString, Value: "pink"}, nil},
		{"requested type matches", "max_items", []kinde.FlagOption{kinde.FlagOfType(kinde.FlagInteger)},
			kinde.FlagValue{Code: "max_items", Type: kinde.FlagInteger, Value: int64(25)}, nil},
		{"requested type by code", "max_items", []kinde.FlagOption{kinde.FlagOfType("i")},
			kinde.FlagValue{Code: "max_items", Type: kinde.FlagInteger, Value: int64(25)}, nil},
		{"requested type differs", "max_items", []kinde.FlagOption{kinde.FlagOfType(kinde.FlagString)}, kinde.FlagValue{}, kinde.ErrFlagTypeMismatch},
		{"default type differs from requested", "nope", []kinde.FlagOption{kinde.FlagDefault("x"), kinde.FlagOfType(kinde.FlagBoolean)}, kinde.FlagValue{}, kinde.ErrFlagTypeMismatch},
		{"unusable default", "nope", []kinde.FlagOption{kinde.FlagDefault(1.5)}, kinde.FlagValue{}, kinde.ErrFlagTypeMismatch},
		{"default that is not JSON", "nope", []kinde.FlagOption{kinde.FlagDefault(map[string]any{"f": func() {}})}, kinde.FlagValue{}, kinde.ErrFlagTypeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Flag(tt.code, tt.opts...)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v; want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Flag = %#v; want %#v", got, tt.want)
			}
		})
	}
}

// TestFlagOfType: every name and code Kinde's SDKs use selects the type; an
// unknown one is a caller's mistake, neither not-found nor a mismatch.
func TestFlagOfType(t *testing.T) {
	s := newFlagFixture(t).session(t)
	tests := []struct {
		typ  kinde.FlagType
		code string
		want kinde.FlagType
	}{
		{"b", "dark_mode", kinde.FlagBoolean},
		{"boolean", "dark_mode", kinde.FlagBoolean},
		{"i", "max_items", kinde.FlagInteger},
		{"integer", "max_items", kinde.FlagInteger},
		{"s", "theme", kinde.FlagString},
		{"string", "theme", kinde.FlagString},
		{"j", "layout", kinde.FlagJSON},
		{"json", "layout", kinde.FlagJSON},
		{"o", "layout", kinde.FlagJSON},
		{"object", "layout", kinde.FlagJSON},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			got, err := s.Flag(tt.code, kinde.FlagOfType(tt.typ))
			if err != nil || got.Type != tt.want {
				t.Fatalf("Flag(%q, FlagOfType(%q)) = %+v, %v; want type %s", tt.code, tt.typ, got, err, tt.want)
			}
		})
	}
	_, err := s.Flag("theme", kinde.FlagOfType("number"))
	if err == nil || errors.Is(err, kinde.ErrFlagTypeMismatch) || errors.Is(err, kinde.ErrFlagNotFound) || !strings.Contains(err.Error(), `"number"`) {
		t.Fatalf("unknown type: err = %v; want an error naming the type", err)
	}
}

// TestFlagErrorMessages: our own words, "kinde:" first, then that the value
// type differs from the requested type; callers branch with errors.Is.
func TestFlagErrorMessages(t *testing.T) {
	s := newFlagFixture(t).session(t)
	_, err := s.BoolFlag("max_items", false)
	const want = `kinde: flag value type differs from the requested type: flag "max_items" is integer, boolean was requested`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v; want %q", err, want)
	}
	_, err = s.Flag("nope")
	if !errors.Is(err, kinde.ErrFlagNotFound) || !strings.HasPrefix(err.Error(), "kinde: feature flag not found: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestFlagsClaimShapes(t *testing.T) {
	f := newFlagFixture(t)
	hasura := newFlagFixture(t, kindetest.WithHasuraClaims(true))
	all := map[string]kinde.FlagValue{
		"dark_mode": {Code: "dark_mode", Type: kinde.FlagBoolean, Value: true},
		"max_items": {Code: "max_items", Type: kinde.FlagInteger, Value: int64(25)},
		"theme":     {Code: "theme", Type: kinde.FlagString, Value: "pink"},
		"layout":    {Code: "layout", Type: kinde.FlagJSON, Value: json.RawMessage(`{"columns":2,"name":"grid"}`)},
	}
	tests := []struct {
		name    string
		session *kinde.Session
		want    map[string]kinde.FlagValue
	}{
		{"emulator token", f.session(t), all},
		{"Hasura claims only", hasura.session(t), all},
		{"absent claim", f.claimsSession(t, func(c map[string]any) { delete(c, "feature_flags") }), map[string]kinde.FlagValue{}},
		{"string instead of object", f.claimsSession(t, func(c map[string]any) { c["feature_flags"] = "dark_mode" }), map[string]kinde.FlagValue{}},
		{"array instead of object", f.claimsSession(t, func(c map[string]any) { c["feature_flags"] = []string{"dark_mode"} }), map[string]kinde.FlagValue{}},
		{"object flags, long type names, malformed entries", f.claimsSession(t, func(c map[string]any) {
			c["feature_flags"] = map[string]any{
				"obj":       map[string]any{"t": "o", "v": map[string]any{"limit": 3, "tags": []string{"a"}}},
				"arr":       map[string]any{"t": "j", "v": []int{1, 2}},
				"long":      map[string]any{"t": "boolean", "v": false},
				"float_int": map[string]any{"t": "i", "v": 4.0},
				"frac_int":  map[string]any{"t": "i", "v": 4.5},
				"bad_bool":  map[string]any{"t": "b", "v": "true"},
				"no_value":  map[string]any{"t": "s"},
				"odd_type":  map[string]any{"t": "x", "v": 1},
				"not_obj":   true,
			}
		}), map[string]kinde.FlagValue{
			"obj":       {Code: "obj", Type: kinde.FlagJSON, Value: json.RawMessage(`{"limit":3,"tags":["a"]}`)},
			"arr":       {Code: "arr", Type: kinde.FlagJSON, Value: json.RawMessage(`[1,2]`)},
			"long":      {Code: "long", Type: kinde.FlagBoolean, Value: false},
			"float_int": {Code: "float_int", Type: kinde.FlagInteger, Value: int64(4)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.session.Flags()
			if got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Flags() =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestTypedFlagGetters(t *testing.T) {
	hasura := newFlagFixture(t, kindetest.WithHasuraClaims(true)).session(t)
	f := newFlagFixture(t)
	bad := f.claimsSession(t, func(c map[string]any) { c["feature_flags"] = "oops" })
	wrong := f.claimsSession(t, func(c map[string]any) {
		c["feature_flags"] = map[string]any{"dark_mode": map[string]any{"t": "b", "v": "false"}}
	})
	tests := []struct {
		name    string
		call    func() (any, error)
		want    any
		wantErr error
	}{
		{"Hasura bool", func() (any, error) { return hasura.BoolFlag("dark_mode", false) }, true, nil},
		{"Hasura int", func() (any, error) { return hasura.IntFlag("max_items", 1) }, int64(25), nil},
		{"Hasura string", func() (any, error) { return hasura.StringFlag("theme", "") }, "pink", nil},
		{"string absent uses default", func() (any, error) { return hasura.StringFlag("nope", "dflt") }, "dflt", nil},
		{"int absent uses default", func() (any, error) { return hasura.IntFlag("nope", -3) }, int64(-3), nil},
		{"string of int flag", func() (any, error) { return hasura.StringFlag("max_items", "x") }, nil, kinde.ErrFlagTypeMismatch},
		{"bool of JSON flag", func() (any, error) { return hasura.BoolFlag("layout", false) }, nil, kinde.ErrFlagTypeMismatch},
		{"malformed claim uses default", func() (any, error) { return bad.BoolFlag("dark_mode", true) }, true, nil},
		{"value that does not fit its type", func() (any, error) { return wrong.BoolFlag("dark_mode", true) }, nil, kinde.ErrFlagTypeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v; want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

func TestJSONFlag(t *testing.T) {
	f := newFlagFixture(t)
	s := f.session(t)
	type layout struct {
		Columns int    `json:"columns"`
		Name    string `json:"name"`
	}
	tests := []struct {
		name    string
		code    string
		start   layout // the default
		want    layout
		wantErr error
	}{
		{"decodes the flag", "layout", layout{Columns: 1}, layout{Columns: 2, Name: "grid"}, nil},
		{"absent keeps the default", "nope", layout{Columns: 1, Name: "list"}, layout{Columns: 1, Name: "list"}, nil},
		{"another type", "theme", layout{Columns: 1}, layout{Columns: 1}, kinde.ErrFlagTypeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.start
			err := s.JSONFlag(tt.code, &got)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) || got != tt.want {
				t.Fatalf("JSONFlag(%q) = %+v, %v; want %+v, %v", tt.code, got, err, tt.want, tt.wantErr)
			}
		})
	}
	var cols []int
	if err := s.JSONFlag("layout", &cols); !errors.Is(err, kinde.ErrFlagTypeMismatch) {
		t.Fatalf("JSONFlag into a slice: err = %v; want ErrFlagTypeMismatch", err)
	}
	for _, v := range []any{nil, layout{}, (*layout)(nil)} {
		if err := s.JSONFlag("nope", v); err == nil {
			t.Fatalf("JSONFlag(%T) = nil; want an error asking for a pointer", v)
		}
	}
}

// TestEmulatorJSONFlags: JSON flags set in the emulator reach the token with
// type code j, and org and user overrides apply to them too.
func TestEmulatorJSONFlags(t *testing.T) {
	f := newFlagFixture(t)
	must(t, f.srv.SetOrgFlag(f.org2.Code, "layout", json.RawMessage(`{"columns":4}`)))
	other := f.tokens(t, kindetest.IssueOptions{OrgCode: f.org2.Code})
	s, err := f.client.Session(t.Context(), other)
	must(t, err)
	raw := s.Claim("feature_flags").Value
	if !strings.Contains(string(raw), `"layout":{"t":"j","v":{"columns":4}}`) {
		t.Fatalf("feature_flags = %s; want layout as a j flag", raw)
	}
	var got map[string]int
	must(t, s.JSONFlag("layout", &got))
	if got["columns"] != 4 {
		t.Fatalf("org override: layout = %v", got)
	}
	if err := f.srv.SetFlag("bad", json.RawMessage(`{`)); err == nil {
		t.Fatal("SetFlag accepted invalid JSON")
	}
	if err := f.srv.SetFlag("bad", 1.5); err == nil {
		t.Fatal("SetFlag accepted a fraction")
	}
}

func TestHasFlags(t *testing.T) {
	f := newFlagFixture(t)
	s := f.claimsSession(t, func(c map[string]any) {
		c["feature_flags"] = map[string]any{
			"dark_mode": map[string]any{"t": "b", "v": true},
			"max_items": map[string]any{"t": "i", "v": 25},
			"theme":     map[string]any{"t": "s", "v": "pink"},
			"layout":    map[string]any{"t": "j", "v": map[string]any{"cols": 2, "name": "grid"}},
			"legacy":    map[string]any{"t": "o", "v": map[string]any{"on": true}},
			"text_bool": map[string]any{"t": "b", "v": "false"},
		}
	})
	type myInt int
	tests := []struct {
		name  string
		conds []kinde.FlagCondition
		want  bool
	}{
		{"no conditions", nil, true},
		{"presence", []kinde.FlagCondition{{Code: "dark_mode"}}, true},
		{"absent", []kinde.FlagCondition{{Code: "nope"}}, false},
		{"bool value", []kinde.FlagCondition{{Code: "dark_mode", Value: true}}, true},
		{"bool mismatch", []kinde.FlagCondition{{Code: "dark_mode", Value: false}}, false},
		{"int as int", []kinde.FlagCondition{{Code: "max_items", Value: 25}}, true},
		{"int as uint8", []kinde.FlagCondition{{Code: "max_items", Value: uint8(25)}}, true},
		{"int as whole float", []kinde.FlagCondition{{Code: "max_items", Value: 25.0}}, true},
		{"int as json.Number", []kinde.FlagCondition{{Code: "max_items", Value: json.Number("25")}}, true},
		{"int as named type", []kinde.FlagCondition{{Code: "max_items", Value: myInt(25)}}, true},
		{"int as fraction", []kinde.FlagCondition{{Code: "max_items", Value: 25.5}}, false},
		{"int as string", []kinde.FlagCondition{{Code: "max_items", Value: "25"}}, false},
		{"string value", []kinde.FlagCondition{{Code: "theme", Value: "pink"}}, true},
		{"string mismatch", []kinde.FlagCondition{{Code: "theme", Value: "blue"}}, false},
		{"JSON value", []kinde.FlagCondition{{Code: "layout", Value: map[string]any{"name": "grid", "cols": 2}}}, true},
		{"JSON as raw", []kinde.FlagCondition{{Code: "layout", Value: json.RawMessage(`{"cols":2.0,"name":"grid"}`)}}, true},
		{"JSON as struct", []kinde.FlagCondition{{Code: "legacy", Value: struct {
			On bool `json:"on"`
		}{true}}}, true},
		{"JSON mismatch", []kinde.FlagCondition{{Code: "layout", Value: map[string]any{"cols": 3}}}, false},
		{"bool typed flag holding a string is present", []kinde.FlagCondition{{Code: "text_bool"}}, true},
		{"and compares as sent", []kinde.FlagCondition{{Code: "text_bool", Value: "false"}}, true},
		{"not as a bool", []kinde.FlagCondition{{Code: "text_bool", Value: false}}, false},
		{"all must match", []kinde.FlagCondition{{Code: "dark_mode", Value: true}, {Code: "theme", Value: "blue"}}, false},
		{"all match", []kinde.FlagCondition{{Code: "dark_mode", Value: true}, {Code: "theme", Value: "pink"}, {Code: "max_items"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.HasFlags(tt.conds...); got != tt.want {
				t.Fatalf("HasFlags(%+v) = %v; want %v", tt.conds, got, tt.want)
			}
		})
	}
}
