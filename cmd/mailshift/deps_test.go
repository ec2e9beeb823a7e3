package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/clicommon/clitest"
)

// TestCLIDoesNotLinkPrometheus: the CLI serves no metrics, and Prometheus's package initialisation costs every
// process start close to a millisecond (several percent of a small PST export), so no package of the CLI may
// import it. The engine's metrics hooks are worker.Metrics; their Prometheus collectors belong to the manager.
func TestCLIDoesNotLinkPrometheus(t *testing.T) {
	gobin := clitest.GoCommand()
	out, err := exec.Command(gobin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %q", deps)
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/prometheus/") {
			t.Errorf("the mailshift CLI links %s", p)
		}
	}
}

// TestCLIDoesNotLinkKubernetes: the Kubernetes client libraries made mailshift 18 MB larger and every
// command, a PST export's too, about 2 ms slower to start. The cluster commands are kubectl-mailshift's
// (internal/clustercli); no package of mailshift may import a Kubernetes one.
func TestCLIDoesNotLinkKubernetes(t *testing.T) {
	gobin := clitest.GoCommand()
	cmd := exec.Command(gobin, "list", "-deps", "./cmd/mailshift")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/mailshift/mailshift/cmd/mailshift") {
		t.Fatalf("go list -deps ./cmd/mailshift did not list mailshift itself: %q", deps)
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "k8s.io/") || strings.HasPrefix(p, "sigs.k8s.io/") {
			t.Errorf("the mailshift CLI links %s", p)
		}
	}
}
