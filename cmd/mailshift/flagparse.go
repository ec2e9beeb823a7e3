package main

import (
	"errors"
	"flag"
	"io"
)

// parseFlags runs parse (fs.Parse, or parseInterspersed for commands that take flags after their arguments)
// so that every command treats help and mistakes alike: -h/--help prints the usage on stdout and the command
// ends with exit code 0; a bad flag prints the error and the usage on stderr and ends with exit code 2. The
// usage function must write to fs.Output(). stop says whether the command ends here, with exit.
func parseFlags(fs *flag.FlagSet, stdout, stderr io.Writer, parse func() error) (exit int, stop bool) {
	usage := fs.Usage
	// The flag package prints the usage itself before it returns an error; where it goes is decided here.
	fs.Usage = func() {}
	err := parse()
	fs.Usage = usage
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		usage()
		fs.SetOutput(stderr)
		return 0, true
	default:
		fs.SetOutput(stderr)
		usage()
		return 2, true
	}
}
