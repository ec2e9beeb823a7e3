// Command chartsync copies the generated CRDs and Roles into the Helm chart (charts/mailshift/files), so that
// the chart installs exactly what `make generate` produced. `make chart-generate` runs it; the chart's tests
// fail when a copy is stale.
//
//	go run ./cmd/chartsync --repo ../..
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mailshift/mailshift/hack/chart/chartsync"
)

func main() {
	repo := flag.String("repo", "../..", "root of the mailshift repository")
	flag.Parse()
	changed, err := chartsync.Sync(*repo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chartsync:", err)
		os.Exit(1)
	}
	for _, c := range changed {
		fmt.Println("updated", c)
	}
}
