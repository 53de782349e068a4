package kinde_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// The fidelity vectors (testdata/fidelity/*.json) are token claims as Kinde
// issues them, each with its source, and what the public helpers return for
// them. TestFidelityVectors signs each vector's claims with the emulator's
// key, builds a verified session through Client.Session, and checks every
// expectation.

type fidelityFile struct {
	About   string                                `json:"about"`
	Bases   map[string]map[string]json.RawMessage `json:"bases"`
	IDBases map[string]map[string]json.RawMessage `json:"id_bases"`
	Vectors []fidelityVector                      `json:"vectors"`
}

type fidelityVector struct {
	Name   string                     `json:"name"`
	Source string                     `json:"source"`
	Base   string                     `json:"base"`
	Access map[string]json.RawMessage `json:"access"`
	Remove []string                   `json:"remove"`
	// IDBase and ID give the ID token; without both the session has none.
	IDBase string                     `json:"id_base"`
	ID     map[string]json.RawMessage `json:"id"`
	Expect fidelityExpect             `json:"expect"`
}

type fidelityExpect struct {
	Flags      map[string]wantFlag `json:"flags"`
	Flag       []flagCase          `json:"flag"`
	BoolFlag   []typedFlagCase     `json:"bool_flag"`
	IntFlag    []typedFlagCase     `json:"int_flag"`
	StringFlag []typedFlagCase     `json:"string_flag"`
	JSONFlag   []typedFlagCase     `json:"json_flag"`
	HasFlags   []hasFlagsCase      `json:"has_flags"`

	Permissions    *wantPermissions `json:"permissions"`
	Permission     []permissionCase `json:"permission"`
	HasPermissions []keysCase       `json:"has_permissions"`
	Roles          *[]kinde.Role    `json:"roles"`
	HasRoles       []keysCase       `json:"has_roles"`
	Has            []hasCase        `json:"has"`

	Organization      *wantOrganization `json:"organization"`
	UserOrganizations *[]wantOrgRef     `json:"user_organizations"`
	User              *wantUser         `json:"user"`
	Scopes            *[]string         `json:"scopes"`
	HasScopes         []keysCase        `json:"has_scopes"`
	Claim             []claimCase       `json:"claim"`
}

type wantFlag struct {
	Type      string          `json:"type"`
	Value     json.RawMessage `json:"value"`
	IsDefault bool            `json:"is_default"`
}

type flagCase struct {
	Code    string          `json:"code"`
	Default json.RawMessage `json:"default"`
	Type    string          `json:"type"`
	Want    *wantFlag       `json:"want"`
	Error   string          `json:"error"`
}

type typedFlagCase struct {
	Code    string          `json:"code"`
	Default json.RawMessage `json:"default"`
	Want    json.RawMessage `json:"want"`
	Error   string          `json:"error"`
}

type flagCond struct {
	Code  string          `json:"code"`
	Value json.RawMessage `json:"value"`
}

type hasFlagsCase struct {
	Conditions []flagCond `json:"conditions"`
	Want       bool       `json:"want"`
}

type wantPermissions struct {
	OrgCode string   `json:"org_code"`
	Keys    []string `json:"keys"`
}

type permissionCase struct {
	Key  string `json:"key"`
	Want struct {
		OrgCode string `json:"org_code"`
		Granted bool   `json:"granted"`
	} `json:"want"`
}

type keysCase struct {
	Keys []string `json:"keys"`
	Want bool     `json:"want"`
}

// hasCase is js-utils' has(): every group given must hold.
type hasCase struct {
	Roles       []string   `json:"roles"`
	Permissions []string   `json:"permissions"`
	Flags       []flagCond `json:"flags"`
	Want        bool       `json:"want"`
}

type wantOrganization struct {
	Code       string         `json:"code"`
	Name       string         `json:"name"`
	ExternalID string         `json:"external_id"`
	Properties map[string]any `json:"properties"`
}

type wantOrgRef struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type wantUser struct {
	ID            string         `json:"id"`
	Email         string         `json:"email"`
	EmailVerified bool           `json:"email_verified"`
	GivenName     string         `json:"given_name"`
	FamilyName    string         `json:"family_name"`
	Name          string         `json:"name"`
	Picture       string         `json:"picture"`
	Username      string         `json:"username"`
	PhoneNumber   string         `json:"phone_number"`
	ProvidedID    string         `json:"provided_id"`
	UpdatedAt     int64          `json:"updated_at"`
	Properties    map[string]any `json:"properties"`
}

type claimCase struct {
	Name    string          `json:"name"`
	Token   string          `json:"token"` // "access" (default) or "id"
	Present bool            `json:"present"`
	Value   json.RawMessage `json:"value"`
}

func loadFidelity(t *testing.T, name string) fidelityFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fidelity", name))
	must(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f fidelityFile
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// fidelityEnv signs vectors' claims as the emulator's issuer and verifies
// them through a client of that emulator.
type fidelityEnv struct {
	srv    *kindetest.Server
	client *kinde.Client
}

func newFidelityEnv(t *testing.T) *fidelityEnv {
	srv := kindetest.Start(t, kindetest.WithSigningKey(sessionTestKey()))
	c, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()})
	must(t, err)
	return &fidelityEnv{srv: srv, client: c}
}

// claims merges base and over (over wins), drops remove, and sets what
// makes the token verify here: iss, iat and exp.
func (e *fidelityEnv) claims(t *testing.T, base, over map[string]json.RawMessage, remove []string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	for _, k := range remove {
		delete(out, k)
	}
	now := time.Now()
	out["iss"] = e.srv.URL()
	out["iat"] = now.Unix()
	out["exp"] = now.Add(time.Hour).Unix()
	return out
}

func (e *fidelityEnv) session(t *testing.T, f fidelityFile, v fidelityVector) *kinde.Session {
	t.Helper()
	base, ok := f.Bases[v.Base]
	if !ok && v.Base != "" {
		t.Fatalf("unknown base %q", v.Base)
	}
	access := e.claims(t, base, v.Access, v.Remove)
	tokens := &kinde.Tokens{AccessToken: e.srv.Sign(access, kindetest.Header{})}
	if v.ID != nil || v.IDBase != "" {
		idBase, ok := f.IDBases[v.IDBase]
		if !ok && v.IDBase != "" {
			t.Fatalf("unknown ID token base %q", v.IDBase)
		}
		id := e.claims(t, idBase, v.ID, nil)
		// The vectors' ID tokens come from other applications: Kinde sets
		// aud and azp of an ID token to the client ID of the application.
		id["aud"] = []string{e.srv.ClientID()}
		if _, ok := id["azp"]; ok {
			id["azp"] = e.srv.ClientID()
		}
		if _, ok := id["sub"]; !ok {
			id["sub"] = access["sub"]
		}
		tokens.IDToken = e.srv.Sign(id, kindetest.Header{})
	}
	s, err := e.client.Session(t.Context(), tokens)
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	return s
}

// sameJSON reports whether got and want encode to the same JSON value.
func sameJSON(t *testing.T, got any, want json.RawMessage) bool {
	t.Helper()
	g, err := json.Marshal(got)
	must(t, err)
	var a, b any
	if json.Unmarshal(g, &a) != nil || json.Unmarshal(want, &b) != nil {
		t.Fatalf("cannot compare %s with %s", g, want)
	}
	return reflect.DeepEqual(a, b)
}

// goValue decodes JSON as a caller would write the value in Go: whole
// numbers become json.Number (an integer to the SDK).
func goValue(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	if raw == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	must(t, dec.Decode(&v))
	return v
}

func conditions(t *testing.T, conds []flagCond) []kinde.FlagCondition {
	out := make([]kinde.FlagCondition, 0, len(conds))
	for _, c := range conds {
		out = append(out, kinde.FlagCondition{Code: c.Code, Value: goValue(t, c.Value)})
	}
	return out
}

func flagError(name string) error {
	switch name {
	case "not_found":
		return kinde.ErrFlagNotFound
	case "type_mismatch":
		return kinde.ErrFlagTypeMismatch
	}
	return nil
}

// checkTyped checks one typed getter's answer against c.
func checkTyped(t *testing.T, what string, c typedFlagCase, got any, err error) {
	t.Helper()
	if c.Error != "" {
		if want := flagError(c.Error); want == nil || !errors.Is(err, want) {
			t.Errorf("%s(%q) err = %v; want %s", what, c.Code, err, c.Error)
		}
		return
	}
	if err != nil || !sameJSON(t, got, c.Want) {
		t.Errorf("%s(%q) = %v, %v; want %s", what, c.Code, got, err, c.Want)
	}
}

func TestFidelityVectors(t *testing.T) {
	env := newFidelityEnv(t)
	// tokens.json holds the shapes of Kinde's tokens, checked against the
	// emulator in kindetest/token_test.go.
	vectorFiles := []string{"claims.json", "flags.json", "has.json"}
	files, err := filepath.Glob(filepath.Join("testdata", "fidelity", "*.json"))
	must(t, err)
	for _, path := range files {
		if name := filepath.Base(path); name != "tokens.json" && !slices.Contains(vectorFiles, name) {
			t.Errorf("testdata/fidelity/%s is not read by any test", name)
		}
	}
	ran := 0
	for _, name := range vectorFiles {
		f := loadFidelity(t, name)
		for _, v := range f.Vectors {
			if v.Source == "" {
				t.Errorf("%s: vector %q has no source", name, v.Name)
			}
			ran++
			t.Run(name+"/"+v.Name, func(t *testing.T) {
				s := env.session(t, f, v)
				checkFlags(t, s, v.Expect)
				checkAccess(t, s, v.Expect)
				checkIdentity(t, s, v.Expect)
			})
		}
	}
	if ran == 0 {
		t.Fatal("no fidelity vectors found")
	}
}

func checkFlags(t *testing.T, s *kinde.Session, x fidelityExpect) {
	if x.Flags != nil {
		got := s.Flags()
		if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(x.Flags))) {
			t.Errorf("Flags() codes = %v; want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(x.Flags)))
		}
		for code, w := range x.Flags {
			fv := got[code]
			if string(fv.Type) != w.Type || fv.Code != code || fv.IsDefault || !sameJSON(t, fv.Value, w.Value) {
				t.Errorf("Flags()[%q] = %+v; want %s %s", code, fv, w.Type, w.Value)
			}
		}
	}
	for _, c := range x.Flag {
		var opts []kinde.FlagOption
		if c.Default != nil {
			opts = append(opts, kinde.FlagDefault(goValue(t, c.Default)))
		}
		if c.Type != "" {
			opts = append(opts, kinde.FlagOfType(kinde.FlagType(c.Type)))
		}
		fv, err := s.Flag(c.Code, opts...)
		desc := c.Code + " default " + string(c.Default) + " type " + c.Type
		if c.Error != "" {
			if want := flagError(c.Error); want == nil || !errors.Is(err, want) {
				t.Errorf("Flag(%s) err = %v; want %s", desc, err, c.Error)
			}
			continue
		}
		if err != nil || c.Want == nil || string(fv.Type) != c.Want.Type || fv.IsDefault != c.Want.IsDefault ||
			fv.Code != c.Code || !sameJSON(t, fv.Value, c.Want.Value) {
			t.Errorf("Flag(%s) = %+v, %v; want %+v", desc, fv, err, c.Want)
		}
	}
	for _, c := range x.BoolFlag {
		var def bool
		must(t, json.Unmarshal(c.Default, &def))
		got, err := s.BoolFlag(c.Code, def)
		checkTyped(t, "BoolFlag", c, got, err)
	}
	for _, c := range x.IntFlag {
		var def int64
		must(t, json.Unmarshal(c.Default, &def))
		got, err := s.IntFlag(c.Code, def)
		checkTyped(t, "IntFlag", c, got, err)
	}
	for _, c := range x.StringFlag {
		var def string
		must(t, json.Unmarshal(c.Default, &def))
		got, err := s.StringFlag(c.Code, def)
		checkTyped(t, "StringFlag", c, got, err)
	}
	for _, c := range x.JSONFlag {
		var v any
		must(t, json.Unmarshal(c.Default, &v))
		err := s.JSONFlag(c.Code, &v)
		checkTyped(t, "JSONFlag", c, v, err)
	}
	for _, c := range x.HasFlags {
		if got := s.HasFlags(conditions(t, c.Conditions)...); got != c.Want {
			t.Errorf("HasFlags(%+v) = %v; want %v", c.Conditions, got, c.Want)
		}
	}
}

func checkAccess(t *testing.T, s *kinde.Session, x fidelityExpect) {
	if w := x.Permissions; w != nil {
		got := s.Permissions()
		if got.OrgCode != w.OrgCode || got.Keys == nil || !slices.Equal(got.Keys, nonNilStrings(w.Keys)) {
			t.Errorf("Permissions() = %+v; want %+v", got, *w)
		}
	}
	for _, c := range x.Permission {
		got := s.Permission(c.Key)
		if got.Key != c.Key || got.OrgCode != c.Want.OrgCode || got.Granted != c.Want.Granted {
			t.Errorf("Permission(%q) = %+v; want %+v", c.Key, got, c.Want)
		}
	}
	for _, c := range x.HasPermissions {
		if got := s.HasPermissions(c.Keys...); got != c.Want {
			t.Errorf("HasPermissions(%q) = %v; want %v", c.Keys, got, c.Want)
		}
	}
	if x.Roles != nil {
		if got := s.Roles(); got == nil || !slices.Equal(got, *x.Roles) {
			t.Errorf("Roles() = %+v; want %+v", got, *x.Roles)
		}
	}
	for _, c := range x.HasRoles {
		if got := s.HasRoles(c.Keys...); got != c.Want {
			t.Errorf("HasRoles(%q) = %v; want %v", c.Keys, got, c.Want)
		}
	}
	for _, c := range x.Has {
		got := true
		if c.Roles != nil {
			got = got && s.HasRoles(c.Roles...)
		}
		if c.Permissions != nil {
			got = got && s.HasPermissions(c.Permissions...)
		}
		if c.Flags != nil {
			got = got && s.HasFlags(conditions(t, c.Flags)...)
		}
		if got != c.Want {
			t.Errorf("has(roles %q, permissions %q, flags %+v) = %v; want %v", c.Roles, c.Permissions, c.Flags, got, c.Want)
		}
	}
	if x.Scopes != nil {
		if got := s.Scopes(); got == nil || !slices.Equal(got, *x.Scopes) {
			t.Errorf("Scopes() = %q; want %q", got, *x.Scopes)
		}
	}
	for _, c := range x.HasScopes {
		if got := s.HasScopes(c.Keys...); got != c.Want {
			t.Errorf("HasScopes(%q) = %v; want %v", c.Keys, got, c.Want)
		}
	}
}

func checkIdentity(t *testing.T, s *kinde.Session, x fidelityExpect) {
	if w := x.Organization; w != nil {
		got := s.Organization()
		if got.Code != w.Code || got.Name != w.Name || got.ExternalID != w.ExternalID || got.Properties == nil ||
			!sameJSON(t, got.Properties, mustJSON(t, nonNilMap(w.Properties))) {
			t.Errorf("Organization() = %+v; want %+v", got, *w)
		}
	}
	if x.UserOrganizations != nil {
		got := s.UserOrganizations()
		want := make([]kinde.OrgRef, 0, len(*x.UserOrganizations))
		for _, o := range *x.UserOrganizations {
			want = append(want, kinde.OrgRef{Code: o.Code, Name: o.Name})
		}
		if got == nil || !slices.Equal(got, want) {
			t.Errorf("UserOrganizations() = %+v; want %+v", got, want)
		}
	}
	if w := x.User; w != nil {
		u := s.User()
		got := wantUser{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, GivenName: u.GivenName,
			FamilyName: u.FamilyName, Name: u.Name, Picture: u.Picture, Username: u.Username,
			PhoneNumber: u.PhoneNumber, ProvidedID: u.ProvidedID}
		if !u.UpdatedAt.IsZero() {
			got.UpdatedAt = u.UpdatedAt.Unix()
		}
		props := u.Properties
		want := *w
		want.Properties, got.Properties = nil, nil
		if u.Properties == nil || !reflect.DeepEqual(got, want) || !sameJSON(t, props, mustJSON(t, nonNilMap(w.Properties))) {
			t.Errorf("User() = %+v; want %+v", u, *w)
		}
	}
	for _, c := range x.Claim {
		var got kinde.ClaimValue
		switch c.Token {
		case "", "access":
			got = s.Claim(c.Name)
		case "id":
			got = s.IDClaims().Get(c.Name)
		default:
			t.Fatalf("claim %q: unknown token %q", c.Name, c.Token)
		}
		if got.Name != c.Name || got.Present != c.Present || (c.Present && !sameJSON(t, json.RawMessage(got.Value), c.Value)) {
			t.Errorf("%s claim %q = %+v (%s); want present %v, %s", c.Token, c.Name, got, got.Value, c.Present, c.Value)
		}
	}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return b
}
