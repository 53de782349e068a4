package management

// The stripped specification is derived from Kinde's published one (kept beside the repository in
// ../shared/specs); package api is generated from the stripped copy. The generator version is
// pinned as a tool in the repository's root go.mod, so run this from the repository root:
//
//	go generate ./...

//go:generate go run github.com/gokinde/kinde/cmd/specstrip -in ../../shared/specs/kinde-management-api.yaml -out internal/spec/kinde-management-api.yaml
//go:generate go tool oapi-codegen -config api/oapi-codegen.yaml internal/spec/kinde-management-api.yaml
