package main

import (
	"runtime"
	"strings"
	"testing"
)

// TestCommandName: run by kubectl (or by hand) the binary is `kubectl mailshift`; run by mailshift, which
// passes its own name as argv[0], it is `mailshift`.
func TestCommandName(t *testing.T) {
	for argv0, want := range map[string]string{
		"/usr/local/bin/kubectl-mailshift": "kubectl mailshift", `C:\krew\bin\kubectl-mailshift.exe`: "kubectl mailshift",
		"./kubectl-mailshift": "kubectl mailshift", "/tmp/go-build1/b001/kubectl-mailshift.test": "kubectl mailshift",
		"mailshift": "mailshift", "/usr/local/bin/mailshift": "mailshift", `C:\bin\MailShift.exe`: "mailshift",
	} {
		if runtime.GOOS != "windows" && strings.Contains(argv0, `\`) {
			argv0 = strings.ReplaceAll(argv0, `\`, "/")
		}
		if got := commandName(argv0); got != want {
			t.Errorf("commandName(%q) = %q, want %q", argv0, got, want)
		}
	}
}
