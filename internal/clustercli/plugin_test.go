package clustercli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/clicommon/clitest"
	"github.com/mailshift/mailshift/internal/testenv"
)

// TestKubectlPlugin: cmd/kubectl-mailshift, installed as kubectl-mailshift, is found by the real kubectl,
// which runs it as `kubectl mailshift ...` against the cluster; its help and messages then say `kubectl
// mailshift`, and the direct check of an IMAP account points at mailshift.
func TestKubectlPlugin(t *testing.T) {
	kubectl := filepath.Join(testenv.BinDir(), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("kubectl not found: %v (run `make controlplane`)", err)
	}
	e := newKubeEnv(t)
	seedMigrations(t, e, time.Now())

	dir := t.TempDir()
	plugin := filepath.Join(dir, "kubectl-mailshift")
	build := exec.Command(clitest.GoCommand(), "build", "-o", plugin, "github.com/mailshift/mailshift/cmd/kubectl-mailshift")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	kc := func(args ...string) (string, string, error) {
		cmd := exec.Command(kubectl, args...)
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+e.kubeconfig)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	out, errOut, err := kc("mailshift", "--context", "elsewhere", "-n", e.ns, "status", "-o", "json")
	var st clusterStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || len(st.Migrations) != 2 {
		t.Fatalf("kubectl mailshift status -o json: %v, %s\n%s", err, errOut, out)
	}
	out, _, err = kc("mailshift", "suspend", "--help")
	if err != nil || !strings.Contains(out, "kubectl mailshift suspend NAME") {
		t.Errorf("kubectl mailshift suspend --help: %v\n%s", err, out)
	}
	_, errOut, err = kc("mailshift", "report", "nobody")
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(errOut, `kubectl mailshift report: mailboxmigration "nobody" not found`) {
		t.Errorf("kubectl mailshift report nobody: %v, %q", err, errOut)
	}
	_, errOut, err = kc("mailshift", "ping", "imap://alice@127.0.0.1")
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(errOut, "use mailshift ping imap://") {
		t.Errorf("kubectl mailshift ping imap://...: %v, %q", err, errOut)
	}
}
