package main

import (
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/migrationrun"
)

// TestWorkerHolderNamesThePod: the worker's lease names the pod (name and UID, from the downward API), and
// two processes never share a name.
func TestWorkerHolderNamesThePod(t *testing.T) {
	t.Setenv(migrationrun.PodNameEnv, "alice-1-x7k2p")
	t.Setenv(migrationrun.PodUIDEnv, "0b6f0c1e-5d1a-4c55-9d7e-3f0a2b1c9d8e")
	a, b := workerHolder(), workerHolder()
	if !strings.Contains(a, "alice-1-x7k2p") || !strings.Contains(a, "0b6f0c1e-5d1a-4c55-9d7e-3f0a2b1c9d8e") {
		t.Errorf("holder %q does not name the pod", a)
	}
	if a == b {
		t.Errorf("two workers share the holder name %q", a)
	}
}
