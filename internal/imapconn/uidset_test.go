package imapconn

import "testing"

func TestUIDSetOf(t *testing.T) {
	for want, in := range map[string][]uint32{
		"":             nil,
		"5":            {5},
		"1:3,7,9:10":   {10, 9, 7, 3, 2, 1, 2},
		"1,4294967295": {4294967295, 1},
	} {
		if got := UIDSetOf(in); got != want {
			t.Errorf("UIDSetOf(%v) = %q, want %q", in, got, want)
		}
	}
}
