// Package kindefiber adds Kinde sign-in to Fiber v2 applications.
package kindefiber
