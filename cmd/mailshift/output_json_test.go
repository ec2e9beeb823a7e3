package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/internal/testserver"
	"github.com/mailshift/mailshift/worker"
)

// TestPSTInspectOutputJSON: -o json and --output json print what the older --json prints.
func TestPSTInspectOutputJSON(t *testing.T) {
	file := filepath.Join(pstFixtureDir(t), "pst2john-Outlook_enc.pst")
	outputs := map[string]string{}
	for _, flag := range [][]string{{"--json"}, {"-o", "json"}, {"--output", "json"}, {"--output=json"}, {}} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"pst", "inspect", file}, flag...), &out, &errb); code != 0 {
			t.Fatalf("pst inspect %v: exit %d, %s", flag, code, errb.String())
		}
		outputs[strings.Join(flag, " ")] = out.String()
	}
	want := outputs["--json"]
	if !json.Valid([]byte(want)) {
		t.Fatalf("--json output is not JSON:\n%s", want)
	}
	for k, v := range outputs {
		if k != "" && v != want {
			t.Errorf("pst inspect %s differs from --json:\n%s", k, v)
		}
	}
	if outputs[""] == want {
		t.Errorf("without a flag, pst inspect printed JSON")
	}
}

// TestMigrateOutputJSON: migrate -o json prints the report document on stdout instead of the table.
func TestMigrateOutputJSON(t *testing.T) {
	srv := testserver.Dovecot(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte(srv.Users["alice"].Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	to := "imap://alice@" + srv.Host + ":" + strconv.Itoa(srv.Port)
	file := filepath.Join(pstFixtureDir(t), "pst2john-Outlook_enc.pst")
	reportFile := filepath.Join(dir, "report.json")
	var out, errb bytes.Buffer
	code := run([]string{"migrate", "--from", "pst:" + file, "--to", to, "--ca-file", ca, "--to-password-file", pw, "-o", "json",
		"--report", reportFile, "--checkpoint", filepath.Join(dir, "cp.json")}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var fromStdout, fromFile worker.Report
	if err := json.Unmarshal(out.Bytes(), &fromStdout); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fromFile); err != nil {
		t.Fatal(err)
	}
	if fromStdout.Totals.Copied == 0 || fromStdout.Totals != fromFile.Totals || len(fromStdout.Folders) != len(fromFile.Folders) {
		t.Errorf("stdout totals %+v, --report totals %+v", fromStdout.Totals, fromFile.Totals)
	}
}

// TestPSTExportOutputJSON: pst export -o json prints its summary line as a JSON document.
func TestPSTExportOutputJSON(t *testing.T) {
	file := filepath.Join(pstFixtureDir(t), "pst2john-Outlook_enc.pst")
	dir := t.TempDir()
	var text, js, errb bytes.Buffer
	if code := run([]string{"pst", "export", file, "--to", filepath.Join(dir, "a")}, &text, &errb); code != 0 {
		t.Fatalf("pst export: exit %d, %s", code, errb.String())
	}
	if code := run([]string{"pst", "export", file, "--to", filepath.Join(dir, "b"), "-o", "json"}, &js, &errb); code != 0 {
		t.Fatalf("pst export -o json: exit %d, %s", code, errb.String())
	}
	var sum struct {
		Items, Folders, Warnings, Problems int
		Dir                                string
	}
	if err := json.Unmarshal(js.Bytes(), &sum); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js.String())
	}
	want := "exported " + strconv.Itoa(sum.Items) + " items from " + strconv.Itoa(sum.Folders) + " folders to " + filepath.Join(dir, "a") + "\n"
	if sum.Items == 0 || sum.Dir != filepath.Join(dir, "b") || text.String() != want {
		t.Errorf("JSON %+v; text %q, want %q", sum, text.String(), want)
	}
}
