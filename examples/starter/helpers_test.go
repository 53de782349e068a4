package starter

import (
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// demo is an emulator with the demo data and a client for it.
type demo struct {
	kindetest.Demo
	srv    *kindetest.Server
	client *kinde.Client
}

func newDemo(t *testing.T) *demo {
	t.Helper()
	srv := kindetest.Start(t)
	d := &demo{Demo: srv.SeedDemo(), srv: srv}
	c, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		RedirectURL: "http://127.0.0.1:8080" + kinde.DefaultPaths().Callback})
	if err != nil {
		t.Fatal(err)
	}
	d.client = c
	return d
}

// session signs user in to org ("" for the user's default organization).
func (d *demo) session(t *testing.T, user kindetest.User, org string) *kinde.Session {
	t.Helper()
	tr, err := d.srv.IssueTokens(user.ID, kindetest.IssueOptions{OrgCode: org})
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.client.Session(t.Context(), &kinde.Tokens{AccessToken: tr.AccessToken, IDToken: tr.IDToken, RefreshToken: tr.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
