package kindetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// tokenShapes is core/testdata/fidelity/tokens.json: the claims of Kinde's
// default tokens and of its token customization, as documented by Kinde.
type tokenShapes struct {
	About         string        `json:"about"`
	AccessDefault claimSet      `json:"access_default"`
	IDDefault     claimSet      `json:"id_default"`
	IDOptional    claimSet      `json:"id_optional"`
	Customization []customClaim `json:"customization"`
}

type claimSet struct {
	Source string         `json:"source"`
	Claims map[string]any `json:"claims"`
}

type customClaim struct {
	Field   string `json:"field"` // of TokenCustomization
	Token   string `json:"token"` // "access" or "id"
	Claim   string `json:"claim"`
	Hasura  string `json:"hasura"` // the name with Hasura mapping; "" when unchanged
	Example any    `json:"example"`
	Source  string `json:"source"`
}

func loadTokenShapes(t *testing.T) tokenShapes {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "fidelity", "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s tokenShapes
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("tokens.json: %v", err)
	}
	return s
}

// shapeOf describes a JSON value's shape: its kind, and for an array of
// objects the members of its first element.
func shapeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		if len(x) > 0 {
			if m, ok := x[0].(map[string]any); ok {
				return "array of objects {" + strings.Join(slices.Sorted(maps.Keys(m)), ",") + "}"
			}
		}
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// customWorld issues tokens for a user who has every detail a token can
// carry: a phone, a username, an ID in another system, properties (one
// without a value), two organizations (the first with an external ID and
// properties), a role there, flags of each type, and an application
// property.
func customWorld(t *testing.T, opts ...Option) (access, id map[string]any) {
	t.Helper()
	srv := Start(t, append([]Option{WithSigningKey(testKey())}, opts...)...)
	u := srv.AddUser(User{Email: "jane@example.com", GivenName: "Jane", FamilyName: "Smith", Picture: "https://example.com/j.png",
		Username: "jane", ProvidedID: "crm-1", Phone: "+61400000000",
		Properties: map[string]any{"kp_usr_city": nil, "kp_usr_industry": "tech"}})
	org := srv.AddOrganization(Organization{Name: "Acme", ExternalID: "crm-4711", Properties: map[string]any{"kp_org_city": "Perth"}})
	other := srv.AddOrganization(Organization{Name: "Globex"})
	srv.AddRole(Role{Key: "admin", Name: "Admin", Permissions: []string{"read:todos"}})
	for _, err := range []error{
		srv.AddMember(org.Code, u.ID, "admin"), srv.AddMember(other.Code, u.ID),
		srv.SetFlag("on", true), srv.SetFlag("limit", 3), srv.SetFlag("theme", "pink"),
		srv.SetFlag("layout", map[string]any{"columns": 2}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	srv.SetProperty("region", "eu")
	tr, err := srv.IssueTokens(u.ID, IssueOptions{Nonce: "n-1"})
	if err != nil {
		t.Fatal(err)
	}
	return claimsOf(t, tr.AccessToken), claimsOf(t, tr.IDToken)
}

func TestDefaultTokensHaveKindesShapes(t *testing.T) {
	shapes := loadTokenShapes(t)
	access, id := customWorld(t)

	if got, want := slices.Sorted(maps.Keys(access)), slices.Sorted(maps.Keys(shapes.AccessDefault.Claims)); !slices.Equal(got, want) {
		t.Errorf("access token claims = %q\nKinde's default (%s) = %q", got, shapes.AccessDefault.Source, want)
	}
	for name, ex := range shapes.AccessDefault.Claims {
		if got, want := shapeOf(access[name]), shapeOf(ex); got != want {
			t.Errorf("access token %s is %s; Kinde's is %s", name, got, want)
		}
	}
	for name, ex := range shapes.IDDefault.Claims {
		if got, want := shapeOf(id[name]), shapeOf(ex); got != want {
			t.Errorf("ID token %s is %s; Kinde's is %s (%s)", name, got, want, shapes.IDDefault.Source)
		}
	}
	for name, v := range id {
		if _, ok := shapes.IDDefault.Claims[name]; ok {
			continue
		}
		ex, ok := shapes.IDOptional.Claims[name]
		if !ok {
			t.Errorf("ID token has %s, which Kinde's default ID token lacks", name)
		} else if shapeOf(v) != shapeOf(ex) {
			t.Errorf("ID token %s is %s; Kinde's is %s (%s)", name, shapeOf(v), shapeOf(ex), shapes.IDOptional.Source)
		}
	}
	for name := range shapes.IDOptional.Claims {
		if _, ok := id[name]; !ok {
			t.Errorf("ID token lacks %s, though the user and sign-in have one", name)
		}
	}
	// Feature flag entries are {t, v} with Kinde's type codes.
	for code, e := range access["feature_flags"].(map[string]any) {
		entry, _ := e.(map[string]any)
		if len(entry) != 2 || !slices.Contains([]any{"b", "i", "s", "j"}, entry["t"]) || entry["v"] == nil {
			t.Errorf("feature flag %s = %v; want {t, v}", code, e)
		}
	}
}

func TestDefaultTokensHaveNoOptInClaims(t *testing.T) {
	shapes := loadTokenShapes(t)
	for _, hasura := range []bool{false, true} {
		access, id := customWorld(t, WithHasuraClaims(hasura))
		tokens := map[string]map[string]any{"access": access, "id": id}
		for _, c := range shapes.Customization {
			tok := tokens[c.Token]
			if tok == nil {
				t.Fatalf("%s: unknown token %q", c.Field, c.Token)
			}
			for _, name := range []string{c.Claim, c.Hasura} {
				if v, ok := tok[name]; ok && name != "" {
					t.Errorf("Hasura %v: %s token has %s = %v without the token customization (%s)", hasura, c.Token, name, v, c.Source)
				}
			}
		}
	}
}

func TestTokenCustomizationTurnsEachOn(t *testing.T) {
	shapes := loadTokenShapes(t)
	fields := map[string]bool{}
	for f := range reflect.TypeFor[TokenCustomization]().Fields() {
		fields[f.Name] = true
	}
	for _, c := range shapes.Customization {
		if !fields[c.Field] {
			t.Fatalf("TokenCustomization has no field %s", c.Field)
		}
		delete(fields, c.Field)
	}
	if len(fields) > 0 {
		t.Fatalf("tokens.json does not describe TokenCustomization fields %v", slices.Sorted(maps.Keys(fields)))
	}

	for _, c := range shapes.Customization {
		for _, hasura := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/hasura=%v", c.Field, hasura), func(t *testing.T) {
				var tc TokenCustomization
				reflect.ValueOf(&tc).Elem().FieldByName(c.Field).SetBool(true)
				access, id := customWorld(t, WithTokenCustomization(tc), WithHasuraClaims(hasura))
				tokens := map[string]map[string]any{"access": access, "id": id}
				name, other := c.Claim, c.Hasura
				if hasura && c.Hasura != "" {
					name, other = c.Hasura, c.Claim
				}
				v, ok := tokens[c.Token][name]
				if !ok {
					t.Fatalf("%s token lacks %s (%s)", c.Token, name, c.Source)
				}
				if got, want := shapeOf(v), shapeOf(c.Example); got != want {
					t.Errorf("%s is %s; Kinde's is %s (%s)", name, got, want, c.Source)
				}
				if _, ok := tokens[c.Token][other]; ok && other != "" {
					t.Errorf("%s token has both %s and %s", c.Token, name, other)
				}
				// Nothing else of the customization is turned on.
				for _, d := range shapes.Customization {
					if d.Field == c.Field || (d.Token == c.Token && (d.Claim == c.Claim || d.Hasura == c.Claim)) {
						continue
					}
					for _, n := range []string{d.Claim, d.Hasura} {
						if _, ok := tokens[d.Token][n]; ok && n != "" {
							t.Errorf("%s turns on %s in the %s token too", c.Field, n, d.Token)
						}
					}
				}
			})
		}
	}
}

// TestTokenCustomizationValues checks what the customized claims carry:
// the user's, organization's and application's data, unset properties as
// {} (nextjs-sdk.mdx: "user_properties":{"kp_usr_city":{}}).
func TestTokenCustomizationValues(t *testing.T) {
	all := TokenCustomization{Roles: true, OrgName: true, Email: true, ExternalOrgID: true, OrgProperties: true,
		UserProperties: true, AppProperties: true, Organizations: true, IDOrgProperties: true, IDUserProperties: true}
	access, id := customWorld(t, WithTokenCustomization(all))
	want := map[string]string{
		"roles":                    `[{"id":"ROLE","key":"admin","name":"Admin"}]`,
		"org_name":                 `"Acme"`,
		"email":                    `"jane@example.com"`,
		"external_organization_id": `"crm-4711"`,
		"organization_properties":  `{"kp_org_city":{"v":"Perth"}}`,
		"user_properties":          `{"kp_usr_city":{},"kp_usr_industry":{"v":"tech"}}`,
		"application_properties":   `{"region":{"v":"eu"}}`,
	}
	roles := access["roles"].([]any)
	roleID, _ := roles[0].(map[string]any)["id"].(string)
	if !strings.HasPrefix(roleID, "role_") {
		t.Errorf("role id %q", roleID)
	}
	for name, w := range want {
		b, err := json.Marshal(access[name])
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Replace(string(b), roleID, "ROLE", 1); got != w {
			t.Errorf("access %s = %s; want %s", name, got, w)
		}
	}
	idWant := map[string]string{
		"organizations":           `[{"id":"ORG1","name":"Acme"},{"id":"ORG2","name":"Globex"}]`,
		"organization_properties": `{"kp_org_city":{"v":"Perth"}}`,
		"user_properties":         `{"kp_usr_city":{},"kp_usr_industry":{"v":"tech"}}`,
	}
	codes := strs(id["org_codes"])
	for name, w := range idWant {
		b, err := json.Marshal(id[name])
		if err != nil {
			t.Fatal(err)
		}
		got := string(b)
		if len(codes) == 2 {
			got = strings.NewReplacer(codes[0], "ORG1", codes[1], "ORG2").Replace(got)
		}
		if got != w {
			t.Errorf("ID %s = %s; want %s", name, got, w)
		}
	}
}
