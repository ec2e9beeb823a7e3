package clicommon

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// OutputFormat is the value of -o/--output: how a command prints its table or summary.
type OutputFormat string

func (o *OutputFormat) String() string { return string(*o) }

func (o *OutputFormat) Set(v string) error {
	switch v {
	case "table", "json":
		*o = OutputFormat(v)
		return nil
	}
	return fmt.Errorf("must be table or json, not %q", v)
}

// Type names the value in cobra's help and completion.
func (o *OutputFormat) Type() string { return "format" }

// AddOutputFlag adds -o/--output (table or json) to a cobra command's flags.
func AddOutputFlag(fs *pflag.FlagSet, out *OutputFormat) {
	fs.VarP(out, "output", "o", "output format: table or json")
}

// OutputFlag registers -o and --output (table or json, default table) on a flag package FlagSet, for the
// commands that parse their own flags.
func OutputFlag(fs *flag.FlagSet) *OutputFormat {
	o := OutputFormat("table")
	fs.Var(&o, "output", "output format: table or json")
	fs.Var(&o, "o", "the same as --output")
	return &o
}

// WriteJSON writes v as indented JSON; an error writing it is a Failure.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return Failure{err}
	}
	return nil
}
