// Command package packages the Helm chart as a .tgz with the release's chart version and appVersion, and
// prints the archive's path:
//
//	go run ./cmd/package --chart ../../charts/mailshift --version 0.2.0 --app-version v0.2.0 --out DIR
//
// The archive's file times are those of SOURCE_DATE_EPOCH when it is set (or --source-date-epoch), so that
// packaging the same commit twice gives the same bytes.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/mailshift/mailshift/hack/chart/chartpkg"
)

func main() {
	var o chartpkg.Options
	var epoch string
	flag.StringVar(&o.ChartDir, "chart", "../../charts/mailshift", "the chart directory")
	flag.StringVar(&o.Version, "version", "", "chart version, SemVer 2 without a leading v (e.g. 0.2.0); required")
	flag.StringVar(&o.AppVersion, "app-version", "", "appVersion: the image tag the chart installs by default (e.g. v0.2.0); required")
	flag.StringVar(&o.OutDir, "out", ".", "directory the .tgz is written to (created when missing)")
	flag.StringVar(&epoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time stamped on every file of the archive")
	flag.Parse()
	if epoch != "" {
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "package: --source-date-epoch %q is not a Unix time in seconds\n", epoch)
			os.Exit(2)
		}
		t := time.Unix(sec, 0).UTC()
		o.SourceDateEpoch = &t
	}
	path, err := chartpkg.Package(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}
