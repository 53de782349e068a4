package load

import (
	"os"
	"testing"

	"github.com/gokinde/kinde/e2e/internal/redistest"
)

// redisAddr is the Redis server of this test binary (see redistest.Main).
var redisAddr string

func TestMain(m *testing.M) { os.Exit(redistest.Main(m, "load", &redisAddr)) }
