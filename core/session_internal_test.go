package kinde

import (
	"encoding/json"
	"testing"
)

func TestToInt64(t *testing.T) {
	type myUint uint64
	tests := []struct {
		in     any
		want   int64
		wantOK bool
	}{
		{int(3), 3, true},
		{int8(-3), -3, true},
		{uint64(1 << 62), 1 << 62, true},
		{uint64(1 << 63), 0, false},
		{3.0, 3, true},
		{3.5, 0, false},
		{float32(2), 2, true},
		{json.Number("12"), 12, true},
		{json.Number("12.0"), 12, true},
		{json.Number("1e400"), 0, false},
		{"12", 0, false},
		{nil, 0, false},
		{myUint(1), 0, false}, // named types go through flagInput, not toInt64
	}
	for _, tt := range tests {
		got, ok := toInt64(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("toInt64(%#v) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
