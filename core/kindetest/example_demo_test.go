package kindetest_test

import (
	"fmt"

	"github.com/gokinde/kinde/core/kindetest"
)

// SeedDemo fills the emulator with the demo directory the starters and
// `go run ./cmd/kinde-emulator` use. In a test, kindetest.Start(t) creates a
// server that is closed when the test ends.
func ExampleServer_SeedDemo() {
	srv := kindetest.NewServer()
	defer srv.Close()
	demo := srv.SeedDemo()

	fmt.Println(demo.Alice.Email, demo.Bob.Email)
	fmt.Println(demo.Acme.Name, demo.Globex.Name)
	fmt.Println(demo.AdminRole.Key, demo.AdminRole.Permissions)
	fmt.Println(demo.Member.Key, demo.Member.Permissions)

	claims := srv.AccessTokenClaims(demo.Bob.ID, kindetest.IssueOptions{})
	fmt.Println(claims["org_code"] == demo.Acme.Code, claims["permissions"])
	// Output:
	// alice@example.com bob@example.com
	// Acme Globex
	// admin [create:todos read:todos update:todos delete:todos]
	// member [create:todos read:todos]
	// true [create:todos read:todos]
}
