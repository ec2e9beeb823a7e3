package oxocal

import (
	"strings"
	"testing"
)

func TestUIDFromGlobalObjectID(t *testing.T) {
	// A series GOID from the javalibpst fixture, an exception instance of it (year 2016 = 0x07E0,
	// August 23), and a GOID made from an iCalendar UID.
	series := "040000008200E00074C5B7101A82E00800000000D08AA8F019ECD10100000000000000001000000033E8E3DAB52AEB4E9597CB068B12F50E"
	instance := "040000008200E00074C5B7101A82E00807E00817D08AA8F019ECD10100000000000000001000000033E8E3DAB52AEB4E9597CB068B12F50E"
	uid := "evnt-1234@example.org"
	data := append(append([]byte("vCal-Uid\x01\x00\x00\x00"), uid...), 0)
	vcal := "040000008200E00074C5B7101A82E008" + strings.Repeat("00", 4+8+8) +
		hexOf([]byte{byte(len(data)), 0, 0, 0}) + hexOf(data)
	tests := []struct {
		name, hex, want string
	}{
		{"series", series, series},
		{"instance uses the clean GOID", instance, series},
		{"vCal-Uid", vcal, "evnt-1234@example.org"},
		{"not a GOID", "DEADBEEF", "DEADBEEF"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := UIDFromGlobalObjectID(mustHex(t, tt.hex)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	g, err := ParseGlobalObjectID(mustHex(t, instance))
	if err != nil || g.Year != 2016 || g.Month != 8 || g.Day != 23 {
		t.Errorf("instance date %+v %v", g, err)
	}
	if c := CleanGlobalObjectID(mustHex(t, instance)); strings.ToUpper(string(hexOf(c))) != series {
		t.Errorf("clean %x", c)
	}
	if _, err := ParseGlobalObjectID(mustHex(t, series[:70])); err == nil {
		t.Error("truncated GOID accepted")
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
