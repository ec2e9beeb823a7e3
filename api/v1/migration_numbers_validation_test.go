package v1_test

import (
	"strings"
	"testing"
)

// TestMigrationNumbersValidation: the values `mailshift migrate` refuses as flags (--parallel 0 or -5,
// --max-size -1) are refused by the API server in a MailboxMigration too, and the bounds themselves pass.
func TestMigrationNumbersValidation(t *testing.T) {
	with := func(extra string) string { return validPSTMigration + extra }
	for name, m := range map[string]string{
		"parallelism 1":    with("  parallelism: 1\n"),
		"parallelism 32":   with("  parallelism: 32\n"),
		"size 0 (default)": with("  sizePolicy: {maxMessageBytes: 0}\n"),
		"size 25 MB":       with("  sizePolicy: {maxMessageBytes: 25000000}\n"),
	} {
		if err := create(t, m); err != nil {
			t.Errorf("%s: rejected: %v", name, err)
		}
	}
	cases := []struct{ name, manifest, want string }{
		{"parallelism 0", with("  parallelism: 0\n"), "spec.parallelism"},
		{"parallelism -5", with("  parallelism: -5\n"), "spec.parallelism"},
		{"parallelism 33", with("  parallelism: 33\n"), "spec.parallelism"},
		{"negative size", with("  sizePolicy: {maxMessageBytes: -1}\n"), "spec.sizePolicy.maxMessageBytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := create(t, tc.manifest)
			if err == nil {
				t.Fatal("the API server accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}
