package starter

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

// Main runs the app that build makes on 127.0.0.1:$PORT (default 8080) until
// the process gets Ctrl-C or SIGTERM, and exits with status 1 on error.
func Main(name string, build func(*App) (Server, error)) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	port := os.Getenv("PORT")
	if port == "" {
		port = DefaultPort
	}
	err := Run(ctx, name, net.JoinHostPort("127.0.0.1", port), os.Stdout, build)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
