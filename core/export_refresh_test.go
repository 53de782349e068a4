package kinde

import "time"

// Hooks for the refresh tests of package kinde_test (compiled only into
// tests).

// StoredRefreshToken returns the refresh token of a session record as a
// store holds it, or "" when b is not one.
func StoredRefreshToken(b []byte) string {
	r, err := decodeSession(b, time.Now())
	if err != nil {
		return ""
	}
	return r.t.RefreshToken
}

// MemoryStoreValues returns copies of the values a MemoryStore holds.
func MemoryStoreValues(s *MemoryStore) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, e := range s.entries {
		out = append(out, append([]byte(nil), e.value...))
	}
	return out
}
