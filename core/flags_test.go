package kinde_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// TestSeedFlagExample is the Ruby SDK's flag example, verbatim: flags asd
// (boolean true), eeeeee (integer 111) and qqq (string "aa").
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

	tests := []struct {
		name    string
		call    func() (any, error)
		want    any
		wantErr error
	}{
		{`BoolFlag("eeeeee")`, func() (any, error) { return s.BoolFlag("eeeeee") }, nil, kinde.ErrFlagTypeMismatch},
		{`BoolFlag("asd")`, func() (any, error) { return s.BoolFlag("asd") }, true, nil},
		{`BoolFlag("undefined", false)`, func() (any, error) { return s.BoolFlag("undefined", false) }, false, nil},
		{`IntFlag("asd")`, func() (any, error) { return s.IntFlag("asd") }, nil, kinde.ErrFlagTypeMismatch},
		{`IntFlag("eeeeee")`, func() (any, error) { return s.IntFlag("eeeeee") }, int64(111), nil},
		{`IntFlag("undefined", 123)`, func() (any, error) { return s.IntFlag("undefined", 123) }, int64(123), nil},
		{`StringFlag("qqq")`, func() (any, error) { return s.StringFlag("qqq") }, "aa", nil},
		{`StringFlag("undefined", "111")`, func() (any, error) { return s.StringFlag("undefined", "111") }, "111", nil},
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

func TestFlag(t *testing.T) {
	f := newSessionFixture(t)
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
		{"absent without default", "nope", nil, kinde.FlagValue{}, kinde.ErrFlagNotFound},
		{"absent with default", "nope", []kinde.FlagOption{kinde.FlagDefault("x")},
			kinde.FlagValue{Code: "nope", Type: kinde.FlagString, Value: "x", IsDefault: true}, nil},
		{"absent with int default", "nope", []kinde.FlagOption{kinde.FlagDefault(7)},
			kinde.FlagValue{Code: "nope", Type: kinde.FlagInteger, Value: int64(7), IsDefault: true}, nil},
		{"absent with whole float default", "nope", []kinde.FlagOption{kinde.FlagDefault(7.0), kinde.FlagOfType(kinde.FlagInteger)},
			kinde.FlagValue{Code: "nope", Type: kinde.FlagInteger, Value: int64(7), IsDefault: true}, nil},
		{"absent with object default", "nope", []kinde.FlagOption{kinde.FlagDefault(map[string]any{"a": 1})},
			kinde.FlagValue{Code: "nope", Type: kinde.FlagObject, Value: map[string]any{"a": 1}, IsDefault: true}, nil},
		{"nil default is no default", "nope", []kinde.FlagOption{kinde.FlagDefault(nil)}, kinde.FlagValue{}, kinde.ErrFlagNotFound},
		{"present ignores default", "theme", []kinde.FlagOption{kinde.FlagDefault("blue")},
			kinde.FlagValue{Code: "theme", Type: kinde.FlagString, Value: "pink"}, nil},
		{"requested type matches", "max_items", []kinde.FlagOption{kinde.FlagOfType(kinde.FlagInteger)},
			kinde.FlagValue{Code: "max_items", Type: kinde.FlagInteger, Value: int64(25)}, nil},
		{"requested type differs", "max_items", []kinde.FlagOption{kinde.FlagOfType(kinde.FlagString)}, kinde.FlagValue{}, kinde.ErrFlagTypeMismatch},
		{"default type differs from flag", "theme", []kinde.FlagOption{kinde.FlagDefault(true)}, kinde.FlagValue{}, kinde.ErrFlagTypeMismatch},
		{"default type differs from requested", "nope", []kinde.FlagOption{kinde.FlagDefault("x"), kinde.FlagOfType(kinde.FlagBoolean)}, kinde.FlagValue{}, kinde.ErrFlagTypeMismatch},
		{"unusable default", "nope", []kinde.FlagOption{kinde.FlagDefault(1.5)}, kinde.FlagValue{}, kinde.ErrFlagTypeMismatch},
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

func TestFlagsClaimShapes(t *testing.T) {
	f := newSessionFixture(t)
	hasura := newSessionFixture(t, kindetest.WithHasuraClaims(true))
	all := map[string]kinde.FlagValue{
		"dark_mode": {Code: "dark_mode", Type: kinde.FlagBoolean, Value: true},
		"max_items": {Code: "max_items", Type: kinde.FlagInteger, Value: int64(25)},
		"theme":     {Code: "theme", Type: kinde.FlagString, Value: "pink"},
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
				"long":      map[string]any{"t": "boolean", "v": false},
				"float_int": map[string]any{"t": "i", "v": 4.0},
				"frac_int":  map[string]any{"t": "i", "v": 4.5},
				"bad_bool":  map[string]any{"t": "b", "v": "true"},
				"no_value":  map[string]any{"t": "s"},
				"odd_type":  map[string]any{"t": "x", "v": 1},
				"not_obj":   true,
			}
		}), map[string]kinde.FlagValue{
			"obj":       {Code: "obj", Type: kinde.FlagObject, Value: map[string]any{"limit": int64(3), "tags": []any{"a"}}},
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
	hasura := newSessionFixture(t, kindetest.WithHasuraClaims(true)).session(t)
	f := newSessionFixture(t)
	bad := f.claimsSession(t, func(c map[string]any) { c["feature_flags"] = "oops" })
	tests := []struct {
		name    string
		call    func() (any, error)
		want    any
		wantErr error
	}{
		{"Hasura bool", func() (any, error) { return hasura.BoolFlag("dark_mode") }, true, nil},
		{"Hasura int", func() (any, error) { return hasura.IntFlag("max_items", 1) }, int64(25), nil},
		{"Hasura string", func() (any, error) { return hasura.StringFlag("theme") }, "pink", nil},
		{"string absent", func() (any, error) { return hasura.StringFlag("nope") }, nil, kinde.ErrFlagNotFound},
		{"int absent", func() (any, error) { return hasura.IntFlag("nope") }, nil, kinde.ErrFlagNotFound},
		{"string of int flag", func() (any, error) { return hasura.StringFlag("max_items", "x") }, nil, kinde.ErrFlagTypeMismatch},
		{"malformed claim uses default", func() (any, error) { return bad.BoolFlag("dark_mode", true) }, true, nil},
		{"malformed claim without default", func() (any, error) { return bad.BoolFlag("dark_mode") }, nil, kinde.ErrFlagNotFound},
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

func TestHasFlags(t *testing.T) {
	f := newSessionFixture(t)
	s := f.claimsSession(t, func(c map[string]any) {
		c["feature_flags"] = map[string]any{
			"dark_mode": map[string]any{"t": "b", "v": true},
			"max_items": map[string]any{"t": "i", "v": 25},
			"theme":     map[string]any{"t": "s", "v": "pink"},
			"layout":    map[string]any{"t": "o", "v": map[string]any{"cols": 2, "name": "grid"}},
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
		{"object value", []kinde.FlagCondition{{Code: "layout", Value: map[string]any{"name": "grid", "cols": 2}}}, true},
		{"object mismatch", []kinde.FlagCondition{{Code: "layout", Value: map[string]any{"cols": 3}}}, false},
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
