package clicommon

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mailshift/mailshift/internal/version"
)

// NewVersionCommand is `version [-o json]`: internal/version's line, or its Info as JSON.
func NewVersionCommand(stdout io.Writer) *cobra.Command {
	out := OutputFormat("table")
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date of this binary",
		Args:  NoArgs,
		RunE: func(*cobra.Command, []string) error {
			info := version.Get()
			if out == "json" {
				return WriteJSON(stdout, info)
			}
			fmt.Fprintln(stdout, info.String())
			return nil
		},
	}
	AddOutputFlag(c.Flags(), &out)
	return c
}
