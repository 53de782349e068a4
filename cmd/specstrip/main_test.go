package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "prose removed, names kept",
			in: `openapi: 3.0.0
info:
  title: T
  description: Long prose.
  termsOfService: https://terms
  contact:
    name: Someone
tags:
  - name: Users
    description: About users.
    x-displayName: Users
    externalDocs:
      url: https://docs
paths:
  /users:
    get:
      summary: List users
      description: |
        Returns users.
      operationId: getUsers
      x-scope: read:users
      parameters:
        - name: description # a comment
          in: query
          description: Filter.
          schema:
            type: string
            example: hello world
      responses:
        '200':
          description: OK
components:
  schemas:
    description:
      type: object
      description: A schema named description.
      properties:
        description:
          type: string
          description: The role's description.
        summary:
          type: string
        example:
          type: string
      examples:
        - a: b
`,
			want: `openapi: 3.0.0
info:
  title: T
tags:
  - name: Users
paths:
  /users:
    get:
      operationId: getUsers
      x-scope: read:users
      parameters:
        - name: description
          in: query
          schema:
            type: string
      responses:
        '200': {}
components:
  schemas:
    description:
      type: object
      properties:
        description:
          type: string
        summary:
          type: string
        example:
          type: string
`,
		},
		{
			name: "structured description under a keyword is kept",
			in:   "a:\n  description:\n    type: string\n",
			want: "a:\n  description:\n    type: string\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Strip([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			again, err := Strip(got)
			if err != nil || string(again) != string(got) {
				t.Errorf("stripping twice changed the output (err %v):\n%s", err, again)
			}
		})
	}
}

func TestStripRejects(t *testing.T) {
	for _, in := range []string{"- a\n- b\n", "a: [\n", ""} {
		if _, err := Strip([]byte(in)); err == nil {
			t.Errorf("Strip(%q) succeeded, want an error", in)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.yaml")
	out := filepath.Join(dir, "out.yaml")
	if err := os.WriteFile(in, []byte("openapi: 3.0.0\ninfo:\n  description: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, out, wantErr string
	}{
		{"ok", in, out, ""},
		{"missing -in", "", out, "missing -in"},
		{"unreadable", filepath.Join(dir, "nope.yaml"), out, "read spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout strings.Builder
			err := run(tt.in, tt.out, &stdout)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(tt.out)
				if string(b) != "openapi: 3.0.0\ninfo: {}\n" {
					t.Errorf("output = %q", b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
