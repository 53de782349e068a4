package starter

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	kinde "github.com/gokinde/kinde/core"
)

// View is what the pages show of a session: all of it comes from the tokens,
// so rendering a page never calls Kinde.
type View struct {
	SignedIn    bool
	User        UserView
	Org         OrgView   // the organization signed in to
	Orgs        []OrgView // every organization of the user
	Permissions []string  // sorted
	Roles       []RoleView
	Flags       []FlagView // sorted by code
	IsAdmin     bool       // holds AdminPermission
}

// UserView is the signed-in user.
type UserView struct {
	ID, Name, Email, Picture string
	Initials                 string // for the avatar when there is no picture
}

// OrgView is an organization; Name falls back to the code.
type OrgView struct {
	Code, Name string
	Current    bool
}

// RoleView is a role; Name falls back to the key.
type RoleView struct {
	Key, Name string
}

// FlagView is a feature flag with its value as text.
type FlagView struct {
	Code, Type, Value string
}

// NewView builds the view of s; a nil session gives the signed-out view.
func NewView(s *kinde.Session) View {
	if s == nil {
		return View{}
	}
	u := s.User()
	org := s.Organization()
	v := View{
		SignedIn:    true,
		User:        userView(u),
		Org:         OrgView{Code: org.Code, Name: cmp.Or(org.Name, org.Code), Current: true},
		Permissions: slices.Sorted(slices.Values(s.Permissions().Keys)),
		IsAdmin:     s.Permission(AdminPermission).Granted,
	}
	for _, o := range s.UserOrganizations() {
		ov := OrgView{Code: o.Code, Name: cmp.Or(o.Name, o.Code), Current: o.Code == org.Code}
		if ov.Current {
			ov.Name = cmp.Or(org.Name, ov.Name)
		}
		v.Orgs = append(v.Orgs, ov)
	}
	for _, r := range s.Roles() {
		v.Roles = append(v.Roles, RoleView{Key: r.Key, Name: cmp.Or(r.Name, r.Key)})
	}
	for code, f := range s.Flags() {
		v.Flags = append(v.Flags, FlagView{Code: code, Type: string(f.Type), Value: flagText(f.Value)})
	}
	slices.SortFunc(v.Flags, func(a, b FlagView) int { return strings.Compare(a.Code, b.Code) })
	return v
}

func userView(u kinde.User) UserView {
	name := cmp.Or(u.Name, strings.TrimSpace(u.GivenName+" "+u.FamilyName), u.Username, u.Email, u.ID)
	return UserView{ID: u.ID, Name: name, Email: u.Email, Picture: u.Picture, Initials: initials(name)}
}

// initials returns the first letters of the first two words of name.
func initials(name string) string {
	var letters []rune
	for _, w := range strings.Fields(name) {
		letters = append(letters, []rune(w)[0])
		if len(letters) == 2 {
			break
		}
	}
	return strings.ToUpper(string(letters))
}

// flagText shows a flag value: booleans, numbers and strings as they are,
// JSON flags as their JSON.
func flagText(v any) string {
	switch v := v.(type) {
	case bool, int64, string:
		return fmt.Sprint(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
