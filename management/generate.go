package management

// The stripped specification is derived from Kinde's published one (kept beside the repository in
// ../shared/specs); package api is generated from the stripped copy. The generator version is
// pinned as a tool in the repository's root go.mod. Run, from the repository root:
//
//	go generate ./management/...
//
// Without ../shared/specs beside the repository the committed stripped spec
// is kept and only package api is regenerated from it.

//go:generate go run github.com/gokinde/kinde/cmd/specstrip -if-present -in ../../shared/specs/kinde-management-api.yaml -out internal/spec/kinde-management-api.yaml
//go:generate go tool oapi-codegen -config api/oapi-codegen.yaml internal/spec/kinde-management-api.yaml
