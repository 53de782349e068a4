package kinde

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestParseClaims(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
		check   func(t *testing.T, c *Claims)
	}{
		{"kinde access token", `{"aud":["api"],"azp":"cid","exp":1693371599,"iat":1693285199.5,"iss":"https://a.kinde.com","jti":"j","org_code":"org_1","permissions":["a","b"],"feature_flags":{"x":{"t":"b","v":true}},"scp":["openid"],"sub":"kp_1"}`, false,
			func(t *testing.T, c *Claims) {
				if c.Issuer != "https://a.kinde.com" || c.Subject != "kp_1" || c.AuthorizedParty != "cid" || c.ID != "j" ||
					!slices.Equal(c.Audience, []string{"api"}) || c.ExpiresAt.Unix() != 1693371599 ||
					c.IssuedAt.UnixNano() != time.Unix(1693285199, 5e8).UnixNano() {
					t.Fatalf("%+v", c)
				}
				var perms []string
				if err := c.Get("permissions").Decode(&perms); err != nil || !slices.Equal(perms, []string{"a", "b"}) {
					t.Fatalf("permissions %v %v", perms, err)
				}
				if c.Get("missing").Present {
					t.Fatal("missing claim present")
				}
				if v := c.Get("feature_flags"); !v.Present || !json.Valid(v.Value) {
					t.Fatal("feature_flags")
				}
			}},
		{"aud string", `{"aud":"api"}`, false, func(t *testing.T, c *Claims) {
			if !slices.Equal(c.Audience, []string{"api"}) {
				t.Fatal(c.Audience)
			}
		}},
		{"empty aud array", `{"aud":[]}`, false, func(t *testing.T, c *Claims) {
			if len(c.Audience) != 0 {
				t.Fatal(c.Audience)
			}
		}},
		// Security review, finding 15: a null time or audience is refused,
		// not read as absent (which would skip its check).
		{"null exp", `{"sub":"kp_1","exp":null}`, true, nil},
		{"null nbf", `{"sub":"kp_1","nbf":null}`, true, nil},
		{"null iat", `{"sub":"kp_1","iat":null}`, true, nil},
		{"null aud", `{"sub":"kp_1","aud":null}`, true, nil},
		{"null registered string", `{"sub":null,"x":null}`, false, func(t *testing.T, c *Claims) {
			if v := c.Get("x"); !v.Present || !v.IsNull() {
				t.Fatal("null claim must be present")
			}
		}},
		{"escaped values", `{"sub":"kp_\u00e9\n","iss":"https:\/\/a"}`, false, func(t *testing.T, c *Claims) {
			if c.Subject != "kp_é\n" || c.Issuer != "https://a" {
				t.Fatalf("%q %q", c.Subject, c.Issuer)
			}
		}},
		{"escaped custom key", `{"\u0070ermissions":["x"]}`, false, func(t *testing.T, c *Claims) {
			if !c.Get("permissions").Present {
				t.Fatal("escaped key not indexed")
			}
		}},
		{"duplicate exp", `{"exp":1,"exp":9999999999}`, true, nil},
		{"escaped registered key", `{"exp":1,"\u0065xp":9999999999}`, true, nil},
		{"exp string", `{"exp":"1"}`, true, nil},
		{"exp negative", `{"exp":-1}`, true, nil},
		{"exp huge", `{"exp":1e300}`, true, nil},
		{"aud number", `{"aud":1}`, true, nil},
		{"aud mixed", `{"aud":["a",1]}`, true, nil},
		{"sub number", `{"sub":1}`, true, nil},
		{"array", `["a"]`, true, nil},
		{"trailing", `{"a":1} x`, true, nil},
		{"truncated", `{"a":`, true, nil},
		{"bad number", `{"a":01}`, true, nil},
		{"bad escape", `{"a":"\x"}`, true, nil},
		{"control char", "{\"a\":\"\x01\"}", true, nil},
		{"deep nesting", `{"a":` + string(repeat('[', 100)) + string(repeat(']', 100)) + `}`, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseClaims([]byte(tt.in))
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrTokenClaims) {
					t.Fatalf("err = %v, want ErrTokenClaims", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func repeat(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// FuzzScanObject checks the scanner against encoding/json: whatever the
// scanner accepts must be a valid JSON object, and each registered claim it
// reads must equal what encoding/json reads.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{
		`{"aud":["api"],"exp":1693371599,"iss":"https://a.kinde.com","sub":"kp_1","permissions":["a"]}`,
		`{"a":{"b":[1,2.5e3,-0.1,true,false,null,"x\u00e9\n"]}}`,
		`{}`, `{"a":1,}`, `{"a" 1}`, `[1]`, `{"a":"\ud83d\ude00"}`, "{\"a\":\"\xff\"}", `{"exp":1e10}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var viaStd map[string]json.RawMessage
		stdErr := json.Unmarshal(b, &viaStd)
		err := scanObject(b, func([]byte, []byte, bool) error { return nil })
		if err == nil && stdErr != nil {
			t.Fatalf("scanner accepted what encoding/json rejects (%v): %q", stdErr, b)
		}
		if err != nil && stdErr == nil && viaStd != nil {
			t.Fatalf("scanner rejected a valid object (%v): %q", err, b)
		}
		c, err := parseClaims(b)
		if err != nil {
			return
		}
		// Compare with exact member names: encoding/json's struct decoding
		// matches names case-insensitively, which a verifier must not do.
		for name, got := range map[string]string{"iss": c.Issuer, "sub": c.Subject} {
			var want string
			if raw, ok := viaStd[name]; ok && json.Unmarshal(raw, &want) == nil && want != got {
				t.Fatalf("%s: encoding/json %q, ours %q", name, want, got)
			}
		}
		for k, v := range c.members() {
			if !json.Valid(v) {
				t.Fatalf("member %q has invalid JSON %q", k, v)
			}
		}
	})
}

// FuzzStringList checks the list-claim reader (permissions, scp, org codes)
// against the encoding/json decoding it replaced: the same non-empty string
// elements, and nil for anything that is not an array.
func FuzzStringList(f *testing.F) {
	for _, s := range []string{
		`["read:todos","create:todos"]`, `[]`, ` [ "a" , null, 1, {"k":["x"]}, "", "\u00e9" ] `,
		`"a"`, `null`, `[1,]`, `["a"] x`, "[\"\xff\"]", `[[["deep"]]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := stringList(b)
		var want []string
		var items []json.RawMessage
		// encoding/json reads a top-level null as an empty array; the
		// callers never pass null (lookup skips null claims).
		if json.Unmarshal(b, &items) == nil && !isNull(b) {
			want = []string{}
			for _, it := range items {
				var s string
				if !isNull(it) && json.Unmarshal(it, &s) == nil && s != "" {
					want = append(want, s)
				}
			}
		}
		if (got == nil) != (want == nil) || !slices.Equal(got, want) {
			t.Fatalf("stringList(%q) = %q, encoding/json reads %q", b, got, want)
		}
	})
}
