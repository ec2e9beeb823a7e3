package clustercli

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/clicommon/clitest"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

// runCLI runs the command line as the kubectl plugin does.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Run("kubectl mailshift", args, &out, &errb)
	return code, out.String(), errb.String()
}

// commandPaths lists every command of the tree below the root, as argument lists.
func commandPaths() [][]string {
	root := NewRoot("kubectl mailshift", &bytes.Buffer{}, &bytes.Buffer{})
	root.InitDefaultHelpCmd()
	return clitest.CommandPaths(root)
}

// TestHelpOnEveryCommand: -h, --help and `help CMD` print the command's help on stdout, nothing on stderr,
// and exit 0, for every command of the tree (a command added later is covered without a new test).
func TestHelpOnEveryCommand(t *testing.T) {
	clitest.HelpOnEveryCommand(t, "kubectl mailshift", runCLI, commandPaths(), 10)
}

// TestUsageErrors: mistakes in the command line exit 2 with a message on stderr and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "Available Commands"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--frobnicate"}, "unknown flag: --frobnicate"},
		{[]string{"status", "--frobnicate"}, "kubectl mailshift status: unknown flag: --frobnicate"},
		{[]string{"status", "extra"}, `unexpected argument "extra"`},
		{[]string{"status", "-o", "yaml"}, `must be table or json, not "yaml"`},
		{[]string{"report"}, "need the name of the MailboxMigration"},
		{[]string{"report", "a", "b"}, "need one MailboxMigration name"},
		{[]string{"suspend"}, "need the name"},
		{[]string{"suspend", "pod/x"}, `unknown kind "pod"`},
		{[]string{"resume", "batch/x", "--kind", "syncpolicy"}, "--kind says syncpolicy"},
		{[]string{"ping"}, "need the name of the Mailbox"},
		{[]string{"ping", "a", "b"}, "need one Mailbox"},
		{[]string{"ping", "alice", "--timeout", "0s"}, "--timeout must be positive"},
		// The direct check of an account is mailshift's: a pointer there, not an unknown --tls.
		{[]string{"ping", "imap://alice@127.0.0.1:1", "--tls", "bogus"}, "use mailshift ping imap://USER@HOST:PORT"},
		{[]string{"ping", "IMAPS://alice@127.0.0.1"}, "use mailshift ping imap://"},
		{[]string{"client-config", "--dir", "x"}, "name a Mailbox, or select Mailboxes with -l"},
		{[]string{"client-config", "alice"}, "--dir is required"},
		{[]string{"client-config", "alice", "bob", "--dir", "x"}, "need one Mailbox name"},
		{[]string{"client-config", "alice", "-l", "team=a", "--dir", "x"}, "not both"},
		{[]string{"client-config", "alice", "-A", "--dir", "x"}, "-A needs -l"},
		{[]string{"client-config", "-l", "team in (a", "--dir", "x"}, `-l "team in (a"`},
		{[]string{"client-config", "alice", "--dir", "x", "-o", "yaml"}, `must be table or json, not "yaml"`},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
		{[]string{"version", "-o", "yaml"}, `must be table or json, not "yaml"`},
		{[]string{"pst", "inspect", "x.pst"}, `unknown command "pst"`},
		{[]string{"completion", "tcsh"}, `unknown command "tcsh"`},
		{[]string{"completion"}, "bash"},
	}
	for _, tc := range cases {
		code, out, errOut := runCLI(tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("kubectl mailshift %s: exit %d, stdout %q, stderr %q; want exit 2 and %q on stderr only",
				strings.Join(tc.args, " "), code, out, errOut, tc.want)
		}
	}
}

// TestCompletionScripts: cobra's completion scripts for the three shells, each the real thing for its shell.
func TestCompletionScripts(t *testing.T) {
	clitest.CompletionScripts(t, runCLI, map[string]string{
		"bash": "__start_kubectl-mailshift",
		"zsh":  "#compdef kubectl-mailshift",
		"fish": "complete -c kubectl-mailshift",
	})
}

// TestVersion: `version` prints internal/version's line, `version -o json` its Info, `--version` the line.
func TestVersion(t *testing.T) {
	clitest.Version(t, runCLI)
}

// TestNamedAsCalled: run by mailshift for its cluster commands, the tree calls itself mailshift.
func TestNamedAsCalled(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run("mailshift", []string{"status", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "mailshift status [flags]") ||
		strings.Contains(out.String(), "kubectl") {
		t.Errorf("mailshift status --help: exit %d, %q", code, out.String())
	}
	out.Reset()
	if code := Run("mailshift", []string{"status", "--frobnicate"}, &out, &errb); code != 2 || !strings.HasPrefix(errb.String(), "mailshift status: unknown flag") {
		t.Errorf("mailshift status --frobnicate: exit %d, stderr %q", code, errb.String())
	}
}

// TestCLIStartsWithoutKubernetesSchemes: the cluster commands use the dynamic client; the typed clients'
// scheme registrations would add milliseconds to the start of every command.
func TestCLIStartsWithoutKubernetesSchemes(t *testing.T) {
	out, err := exec.Command(clitest.GoCommand(), "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !contains(deps, "k8s.io/client-go/dynamic") {
		t.Fatalf("the cluster commands do not link the dynamic client; deps: %d packages", len(deps))
	}
	for _, p := range []string{"k8s.io/client-go/kubernetes/scheme", "sigs.k8s.io/controller-runtime/pkg/client"} {
		if contains(deps, p) {
			t.Errorf("the cluster commands link %s", p)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestReportKeysMatchTheWorker: `report` reads the keys the worker writes.
func TestReportKeysMatchTheWorker(t *testing.T) {
	if reportKey != migrationrun.ReportKey || reportSummaryKey != migrationrun.SummaryKey {
		t.Errorf("report keys %q, %q; the worker writes %q, %q", reportKey, reportSummaryKey, migrationrun.ReportKey, migrationrun.SummaryKey)
	}
}

// TestRateAndETA: the rate comes from the status timestamps, the ETA from the rate and what is left.
func TestRateAndETA(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(s int) *metav1.Time { m := metav1.NewTime(t0.Add(time.Duration(s) * time.Second)); return &m }
	cases := []struct {
		name     string
		st       mailshiftv1.MailboxMigrationStatus
		ok       bool
		rate     float64
		eta      time.Duration
		reportAt time.Time
	}{
		{"running", mailshiftv1.MailboxMigrationStatus{StartTime: at(0), Progress: &mailshiftv1.Progress{ItemsTotal: 1000, ItemsCopied: 400, ItemsSkipped: 50, ItemsFailed: 50, UpdateTime: at(100)}},
			true, 5, 100 * time.Second, t0.Add(100 * time.Second)},
		{"done", mailshiftv1.MailboxMigrationStatus{StartTime: at(0), CompletionTime: at(50), Progress: &mailshiftv1.Progress{ItemsTotal: 100, ItemsCopied: 100, UpdateTime: at(40)}},
			true, 2, -1, t0.Add(50 * time.Second)},
		{"no start", mailshiftv1.MailboxMigrationStatus{Progress: &mailshiftv1.Progress{ItemsTotal: 10, ItemsCopied: 1, UpdateTime: at(5)}}, false, 0, 0, time.Time{}},
		{"nothing done", mailshiftv1.MailboxMigrationStatus{StartTime: at(0), Progress: &mailshiftv1.Progress{ItemsTotal: 10, UpdateTime: at(5)}}, false, 0, 0, time.Time{}},
		{"no report yet", mailshiftv1.MailboxMigrationStatus{StartTime: at(0)}, false, 0, 0, time.Time{}},
		{"clock skew", mailshiftv1.MailboxMigrationStatus{StartTime: at(10), Progress: &mailshiftv1.Progress{ItemsTotal: 10, ItemsCopied: 1, UpdateTime: at(5)}}, false, 0, 0, time.Time{}},
	}
	for _, tc := range cases {
		rate, eta, reportAt, ok := rateAndETA(tc.st)
		if ok != tc.ok || rate != tc.rate || eta != tc.eta || !reportAt.Equal(tc.reportAt) {
			t.Errorf("%s: rate %v eta %v at %v ok %v; want %v %v %v %v", tc.name, rate, eta, reportAt, ok, tc.rate, tc.eta, tc.reportAt, tc.ok)
		}
	}
}

func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		want        string
	}{
		{0, 0, "[..........]   0%"},
		{5, 10, "[#####.....]  50%"},
		{999, 1000, "[#########.]  99%"},
		{12, 10, "[##########] 100%"},
		{-3, 10, "[..........]   0%"},
	} {
		if got := progressBar(tc.done, tc.total, 10); got != tc.want {
			t.Errorf("progressBar(%d, %d) = %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
}
