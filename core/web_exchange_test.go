package kinde

import "testing"

func TestCookieValue(t *testing.T) {
	lines := []string{`a=1; kinde_session=abc.def ;b="quoted"`, "c=3"}
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"a", "1", true}, {"kinde_session", "abc.def", true}, {"b", "quoted", true}, {"c", "3", true},
		{"kinde", "", false}, {"session", "", false}, {"", "", false},
	}
	for _, tt := range tests {
		if got, ok := cookieValue(lines, tt.name); got != tt.want || ok != tt.ok {
			t.Errorf("cookieValue(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzCookieValue(f *testing.F) {
	f.Add("a=1; b=2", "b")
	f.Add(`x="y"; ;;=; z`, "z")
	f.Fuzz(func(t *testing.T, line, name string) {
		v, ok := cookieValue([]string{line}, name)
		if !ok && v != "" {
			t.Fatal("value without a cookie")
		}
	})
}
