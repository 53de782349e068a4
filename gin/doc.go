// Package kindegin adds Kinde sign-in to Gin applications.
package kindegin
