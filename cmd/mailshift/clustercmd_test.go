package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/clicommon/clitest"
)

// TestClusterCommandsNeedKubectlMailshift: where kubectl-mailshift is neither next to mailshift nor on
// PATH, the cluster commands say what to install, with the usage exit code, and nothing on stdout.
func TestClusterCommandsNeedKubectlMailshift(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, args := range [][]string{{"status"}, {"report", "bob", "-o", "json"}, {"suspend", "alice"}, {"resume", "batch/wave1"}, {"ping", "alice"}} {
		code, out, errOut := runCLI(args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "mailshift "+args[0]+": this command is provided by kubectl-mailshift") ||
			!strings.Contains(errOut, "Install kubectl-mailshift") || !strings.Contains(errOut, "krew") {
			t.Errorf("mailshift %s: exit %d, stdout %q, stderr %q; want exit 2 and how to install kubectl-mailshift", strings.Join(args, " "), code, out, errOut)
		}
	}
	// Their help still says what they do and where they come from.
	code, out, _ := runCLI("status", "--help")
	if code != 0 || !strings.Contains(out, "provided by kubectl-mailshift") || !strings.Contains(out, "kubectl krew install mailshift") {
		t.Errorf("status --help without kubectl-mailshift: exit %d\n%s", code, out)
	}
	_, out, _ = runCLI("--help")
	for _, cmd := range []string{"status", "report", "suspend", "resume"} {
		if !hasLine(out, cmd, "(kubectl-mailshift)") {
			t.Errorf("mailshift --help does not list %s as kubectl-mailshift's:\n%s", cmd, out)
		}
	}
}

// TestClusterCommandsRunKubectlMailshift: mailshift and kubectl-mailshift built side by side, as the
// release archive unpacks them, with an empty PATH: mailshift finds kubectl-mailshift next to itself and
// runs it with the same arguments, its stdin, stdout and stderr, and its exit code; kubectl-mailshift calls
// itself mailshift there.
func TestClusterCommandsRunKubectlMailshift(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the kubeconfig from /dev/stdin")
	}
	dir := t.TempDir()
	gobin := clitest.GoCommand()
	for pkg, name := range map[string]string{".": "mailshift", "../kubectl-mailshift": "kubectl-mailshift"} {
		if out, err := exec.Command(gobin, "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	mailshift := func(stdin string, args ...string) (int, string, string) {
		cmd := exec.Command(filepath.Join(dir, "mailshift"), args...)
		cmd.Env = append(os.Environ(), "PATH="+t.TempDir(), "KUBECONFIG="+filepath.Join(t.TempDir(), "none"))
		var out, errb bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}

	code, out, errOut := mailshift("", "status", "--help")
	if code != 0 || errOut != "" || !strings.Contains(out, "mailshift status [flags]") || !strings.Contains(out, "progress bar") || strings.Contains(out, "kubectl mailshift") {
		t.Errorf("mailshift status --help: exit %d, stderr %q; want kubectl-mailshift's help, named mailshift status\n%s", code, errOut, out)
	}
	code, out, _ = mailshift("", "help", "suspend")
	if code != 0 || !strings.Contains(out, "mailshift suspend NAME | KIND/NAME [flags]") || !strings.Contains(out, "--kind") {
		t.Errorf("mailshift help suspend: exit %d\n%s", code, out)
	}
	code, out, errOut = mailshift("", "suspend", "pod/x")
	if code != 2 || out != "" || !strings.Contains(errOut, `mailshift suspend: unknown kind "pod"`) {
		t.Errorf("mailshift suspend pod/x: exit %d, stdout %q, stderr %q; want kubectl-mailshift's usage error, exit 2", code, out, errOut)
	}
	code, _, errOut = mailshift("", "ping", "alice", "--timeout", "0s")
	if code != 2 || !strings.Contains(errOut, "mailshift ping: --timeout must be positive") {
		t.Errorf("mailshift ping alice --timeout 0s: exit %d, stderr %q", code, errOut)
	}
	// The kubeconfig read from stdin names a loopback port nothing listens on: the failure, exit code 1,
	// names that address, which only the kubeconfig on stdin holds.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://%s"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: team-a}}]
current-context: x
`, addr)
	code, out, errOut = mailshift(kubeconfig, "status", "--kubeconfig", "/dev/stdin")
	if code != 1 || out != "" || !strings.Contains(errOut, "mailshift status:") || !strings.Contains(errOut, addr) {
		t.Errorf("mailshift status --kubeconfig /dev/stdin: exit %d, stdout %q, stderr %q; want exit 1 naming %s", code, out, errOut, addr)
	}
	// Completion of a cluster command is kubectl-mailshift's, its flags too.
	code, out, _ = mailshift("", "__complete", "status", "--out")
	if code != 0 || !strings.Contains(out, "--output") {
		t.Errorf("mailshift __complete status --out: exit %d, %q; want --output among the answers", code, out)
	}
	// The direct check of an account stays mailshift's own.
	code, _, errOut = mailshift("", "ping", "imap://alice@"+addr, "--tls", "bogus")
	if code != 2 || !strings.Contains(errOut, "--tls must be starttls, implicit or none") {
		t.Errorf("mailshift ping imap://...: exit %d, stderr %q", code, errOut)
	}
}

// hasLine says whether a line of out holds all the words.
func hasLine(out string, words ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return true
		}
	}
	return false
}
