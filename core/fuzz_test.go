package kinde_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// fuzzEnv is an emulator with a frozen clock and a client for it, for the
// verification fuzz targets. Its signing key is rpKeys()[0].
type fuzzEnv struct {
	srv    *kindetest.Server
	client *kinde.Client
	user   kindetest.User
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	srv := kindetest.NewServer(kindetest.WithSigningKey(rpKeys()[0]), kindetest.WithNow(time.Unix(1_900_000_000, 0)))
	f.Cleanup(srv.Close)
	user := srv.AddUser(kindetest.User{Email: "fuzz@example.com"})
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), Now: srv.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzEnv{srv: srv, client: client, user: user}
}

// signedByEmulator reports whether raw is a compact RS256 JWS whose
// signature verifies with the emulator's key, checked independently of the
// SDK.
func signedByEmulator(raw string) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	hdr, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdr, &h) != nil || h.Alg != "RS256" {
		return false
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return rsa.VerifyPKCS1v15(&rpKeys()[0].PublicKey, crypto.SHA256, sum[:], sig) == nil
}

// rawJWS signs an arbitrary payload with the emulator's key under header.
func rawJWS(header, payload []byte) string {
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, rpKeys()[0], crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// FuzzVerifyAccessToken: the verifier never panics, and never accepts a
// token that the emulator's key did not sign, whose issuer is not the
// emulator, or that has expired.
func FuzzVerifyAccessToken(f *testing.F) {
	e := newFuzzEnv(f)
	other := rpKeys()[1]
	base := func() map[string]any { return e.srv.AccessTokenClaims(e.user.ID, kindetest.IssueOptions{}) }
	valid := e.srv.Sign(base(), kindetest.Header{})
	issued, err := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
	if err != nil {
		f.Fatal(err)
	}
	nested := base()
	nested["deep"] = json.RawMessage(strings.Repeat("[", 100) + strings.Repeat("]", 100))
	escaped := rawJWS([]byte(`{"alg":"RS256","kid":"`+e.srv.KeyID()+`"}`),
		[]byte(`{"iss":"`+e.srv.URL()+`","exp":1,"\u0065xp":9999999999,"sub":"kp_x"}`))
	dupExp := rawJWS([]byte(`{"alg":"RS256","kid":"`+e.srv.KeyID()+`"}`),
		[]byte(`{"iss":"`+e.srv.URL()+`","exp":9999999999,"exp":1,"sub":"kp_x"}`))
	crit := rawJWS([]byte(`{"alg":"RS256","kid":"`+e.srv.KeyID()+`","crit":["exp"]}`),
		[]byte(`{"iss":"`+e.srv.URL()+`","exp":9999999999,"sub":"kp_x"}`))
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid,
		issued.AccessToken,
		issued.IDToken,
		e.srv.Sign(base(), kindetest.Header{Alg: "none"}),
		e.srv.Sign(base(), kindetest.Header{Alg: "HS256"}),
		e.srv.Sign(base(), kindetest.Header{Alg: "HS256", Secret: []byte(kindetest.DefaultClientSecret)}),
		e.srv.Sign(base(), kindetest.Header{Key: other, Kid: e.srv.KeyID()}),
		e.srv.Sign(base(), kindetest.Header{Key: other, Kid: "unknown"}),
		e.srv.Sign(base(), kindetest.Header{Kid: "-"}),
		e.srv.Sign(base(), kindetest.Header{Kid: strings.Repeat("k", 4000)}),
		e.srv.Sign(nested, kindetest.Header{}),
		escaped, dupExp, crit,
		valid[:len(valid)-7],
		parts[0] + "." + parts[1],
		parts[0] + "." + parts[1] + "." + parts[2] + ".",
		parts[0] + ".." + parts[2],
		parts[0] + "." + parts[1] + "." + parts[2] + "=",
		"e30.e30.",
		"",
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := e.client.VerifyAccessToken(ctx, raw)
		if err != nil {
			return
		}
		if !signedByEmulator(raw) {
			t.Fatalf("accepted a token the emulator did not sign: %q", raw)
		}
		if claims.Issuer != e.srv.URL() {
			t.Fatalf("accepted issuer %q", claims.Issuer)
		}
		if claims.ExpiresAt.IsZero() || !e.srv.Now().Before(claims.ExpiresAt.Add((30 * time.Second))) {
			t.Fatalf("accepted expiry %v at %v", claims.ExpiresAt, e.srv.Now())
		}
	})
}

// FuzzSignedClaims feeds claim sets that carry a genuine signature (as a
// compromised or buggy issuer might send) to the verifier and to every
// claim helper of Session: nothing panics, and only JSON objects with the
// right issuer and a valid exp are accepted.
func FuzzSignedClaims(f *testing.F) {
	e := newFuzzEnv(f)
	iss, exp := e.srv.URL(), e.srv.Now().Add(time.Hour).Unix()
	full, err := json.Marshal(e.srv.AccessTokenClaims(e.user.ID, kindetest.IssueOptions{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	for _, s := range []string{
		`{"iss":"%s","exp":%d,"sub":"kp_1","permissions":["a",1,null],"roles":{"key":"x"},"org_code":7}`,
		`{"iss":"%s","exp":%d,"feature_flags":{"f":{"t":"b","v":"yes"},"g":{"t":"i","v":1e300},"h":[]}}`,
		`{"iss":"%s","exp":%d,"feature_flags":{"j":{"t":"j","v":{"a":[1,{"b":null}]}},"f":{"t":"o"}},"scp":null,"scope":" a  b "}`,
		`{"iss":"%s","exp":%d,"organization_properties":{"a":{"v":{"b":[]}}},"user_properties":[],"x-hasura-permissions":"p"}`,
		`{"iss":"%s","exp":%d,"aud":"single","scp":"openid","org_codes":[1,2]}`,
		`{"iss":"%s","exp":%d,"roles":[{"id":1,"key":null}],"organizations":[{"id":"o","name":5}]}`,
		`{"iss":"%s","exp":%d,"at_hash":"x","sub":"kp_1"}`,
		`{"iss":"%s","exp":%d}garbage`,
		`{"iss":"%s","exp":%d.5}`,
	} {
		f.Add([]byte(strings.Replace(strings.Replace(s, "%s", iss, 1), "%d", jsonInt(exp), 1)))
	}
	header := []byte(`{"alg":"RS256","typ":"JWT","kid":"` + e.srv.KeyID() + `"}`)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, payload []byte) {
		raw := rawJWS(header, payload)
		claims, err := e.client.VerifyAccessToken(ctx, raw)
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(payload, &obj) != nil {
			t.Fatalf("accepted a claim set encoding/json rejects: %q", payload)
		}
		if claims.Issuer != iss {
			t.Fatalf("accepted issuer %q", claims.Issuer)
		}
		s, err := e.client.Session(ctx, &kinde.Tokens{AccessToken: raw})
		if err != nil {
			t.Fatalf("verified tokens give no session: %v", err)
		}
		var anyFlag any
		_ = s.Permissions()
		_ = s.Permission("a").Granted
		_ = s.HasPermissions("a", "b")
		_ = s.Roles()
		_ = s.HasRoles("x")
		_ = s.Organization()
		_ = s.UserOrganizations()
		_ = s.User()
		_ = s.ApplicationProperties()
		_ = s.Scopes()
		_ = s.HasScopes("openid")
		_ = s.Flags()
		_, _ = s.Flag("f")
		_, _ = s.BoolFlag("f", false)
		_, _ = s.IntFlag("g", 0)
		_, _ = s.StringFlag("h", "")
		_ = s.JSONFlag("j", &anyFlag)
		_ = s.HasFlags(kinde.FlagCondition{Code: "f"}, kinde.FlagCondition{Code: "j", Value: map[string]any{"a": 1}})
		_ = s.Claim("permissions").String()
		var anyValue any
		_ = s.Claim("org_code").Decode(&anyValue)
		_ = s.UserID()
	})
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
