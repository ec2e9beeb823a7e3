package clicommon

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spf13/cobra"
)

func TestOutputFormat(t *testing.T) {
	var o OutputFormat
	for _, v := range []string{"table", "json"} {
		if err := o.Set(v); err != nil || o.String() != v {
			t.Errorf("Set(%q): %v, now %q", v, err, o)
		}
	}
	if err := o.Set("yaml"); err == nil || err.Error() != `must be table or json, not "yaml"` || o != "json" {
		t.Errorf("Set(yaml): %v, now %q", err, o)
	}
}

func TestNamesIMAPAccount(t *testing.T) {
	for args, want := range map[string]bool{"imap://a@b": true, "IMAPS://a@b:993": true, "alice": false, "--timeout": false, "": false, "http://x": false} {
		if got := NamesIMAPAccount([]string{"--tls", "none", args}); got != want {
			t.Errorf("NamesIMAPAccount(%q) = %v, want %v", args, got, want)
		}
	}
}

func TestTerminalSafe(t *testing.T) {
	for in, want := range map[string]string{"Inbox": "Inbox", "Posteingang/Entwürfe": "Posteingang/Entwürfe", "a\x1b]0;x\x07": `"a\x1b]0;x\a"`, "a\u202eb": `"a\u202eb"`} {
		if got := TerminalSafe(in); got != want {
			t.Errorf("TerminalSafe(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 3 << 20: "3.0 MiB", 5 << 30: "5.0 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestRunExitCodes: success 0, a Failure 1 with the command's name, an ExitCode as it is, anything else
// a usage error, 2, with the pointer to --help.
func TestRunExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err        error
		code       int
		wantStderr string
	}{
		{nil, 0, ""},
		{Failed("the server said %s", "no"), 1, "tool do: the server said no\n"},
		{ExitCode(3), 3, ""},
		{errors.New("need a FILE"), 2, "tool do: need a FILE\nRun 'tool do --help' for usage.\n"},
	} {
		var out, errb bytes.Buffer
		root := NewRoot("tool", "short", "long", "v1", &out, &errb)
		root.AddCommand(&cobra.Command{Use: "do", RunE: func(*cobra.Command, []string) error { return tc.err }})
		if code := Run(root, []string{"do"}, &errb); code != tc.code || errb.String() != tc.wantStderr {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tc.err, code, errb.String(), tc.code, tc.wantStderr)
		}
	}
}
