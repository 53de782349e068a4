package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunAgainstEmulator runs the starter end to end against the embedded
// emulator, as `go run ./examples/m2m` does without KINDE_DOMAIN.
func TestRunAgainstEmulator(t *testing.T) {
	var out bytes.Buffer
	noEnv := func(string) string { return "" }
	if err := run(context.Background(), []string{"-org", "Test Org", "-email", "grace@example.com", "-role", "member"}, noEnv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, &out)
	}
	got := out.String()
	for _, want := range []string{`created organization "Test Org": org_`, "created user grace@example.com: kp_",
		"with role member", "grace@example.com  roles [member]"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestRunUnknownRole(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-role", "no-such-role"}, func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "add user to organization") {
		t.Fatalf("err = %v, want a failure to add the user", err)
	}
}

func TestRunNeedsCredentialsForRealKinde(t *testing.T) {
	env := map[string]string{"KINDE_DOMAIN": "https://example.kinde.com"}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "KINDE_MANAGEMENT_CLIENT_ID") {
		t.Fatalf("err = %v, want it to name KINDE_MANAGEMENT_CLIENT_ID", err)
	}
}
