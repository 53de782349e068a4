// Package kindeecho adds Kinde sign-in to Echo v4 applications.
package kindeecho
