// Package oracle runs independent parsers — libkolabxml, Python's email package, icalendar, dateutil and
// vobject, under Debian's /usr/bin/python3 — over documents a test produced, and hands back what each parser
// read, so tests can compare that reading with their own input rather than with the writer's output.
//
// Every function takes a whole batch and starts Python once (start-up costs about 0.3 s); the result slice
// has one entry per document, in order. A document the parser rejects yields a result with its error set; a
// missing interpreter or module fails the test (never skips it), pointing at hack/install-deps.sh.
//
// This is a normal package so that tests anywhere in the repository can use it; nothing else should.
package oracle

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// Python is the interpreter the oracles run: Debian's, which the python3-* packages install into.
const Python = "/usr/bin/python3"

const installHint = "run `bash hack/install-deps.sh` to install the Python oracles (python3-kolabformat, " +
	"python3-icalendar, python3-vobject, python3-dateutil)"

//go:embed oracle.py
var script []byte

// run sends request to oracle.py in the given mode and decodes its "results" into results.
func run(tb testing.TB, mode string, request any, results any) {
	tb.Helper()
	if _, err := os.Stat(Python); err != nil {
		tb.Fatalf("oracle: %s not found: %v; %s", Python, err, installHint)
	}
	dir := tb.TempDir()
	path := dir + "/oracle.py"
	if err := os.WriteFile(path, script, 0o600); err != nil {
		tb.Fatalf("oracle: %v", err)
	}
	in, err := json.Marshal(request)
	if err != nil {
		tb.Fatalf("oracle: encode request: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatalf("oracle: %v", err)
	}
	defer r.Close()
	cmd := exec.Command(Python, "-I", path, mode, "3")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		w.Close()
		tb.Fatalf("oracle: start %s: %v; %s", Python, err, installHint)
	}
	w.Close()
	var out bytes.Buffer
	_, readErr := out.ReadFrom(r)
	waitErr := cmd.Wait()
	if waitErr != nil || readErr != nil {
		tb.Fatalf("oracle %s: %v %v\n%s", mode, waitErr, readErr, tail(stderr.Bytes()))
	}
	var resp struct {
		Fatal   string          `json:"fatal"`
		Results json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		tb.Fatalf("oracle %s: bad response: %v\n%s", mode, err, tail(stderr.Bytes()))
	}
	if resp.Fatal != "" {
		tb.Fatalf("oracle %s: %s; %s", mode, resp.Fatal, installHint)
	}
	if err := json.Unmarshal(resp.Results, results); err != nil {
		tb.Fatalf("oracle %s: decode results: %v", mode, err)
	}
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func checkCount(tb testing.TB, mode string, got, want int) {
	tb.Helper()
	if got != want {
		tb.Fatalf("oracle %s: %d results for %d documents", mode, got, want)
	}
}
