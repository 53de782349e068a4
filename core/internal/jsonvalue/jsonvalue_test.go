package jsonvalue

import (
	"reflect"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		in      string
		want    any
		wantErr bool
	}{
		{``, nil, false},
		{`  `, nil, false},
		{`null`, nil, false},
		{`12`, int64(12), false},
		{`1.5`, 1.5, false},
		{`"x"`, "x", false},
		{`{"a":[1,2.5,{"b":3}]}`, map[string]any{"a": []any{int64(1), 2.5, map[string]any{"b": int64(3)}}}, false},
		{`1e400`, "1e400", false},
		{`{`, nil, true},
	}
	for _, tt := range tests {
		got, err := Decode([]byte(tt.in))
		if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("Decode(%q) = %#v, %v; want %#v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
