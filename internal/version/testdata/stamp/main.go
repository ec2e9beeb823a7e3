// Command stamp prints the version of its own build, for TestLDFlagsStampABuild.
package main

import (
	"fmt"

	"github.com/mailshift/mailshift/internal/version"
)

func main() { fmt.Print(version.Get().String()) }
