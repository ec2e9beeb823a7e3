package migrationrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/worker"
)

func TestParseSpecRejects(t *testing.T) {
	good := `{"namespace":"ns","name":"m","uid":"u","run":"r","source":{"pst":{"path":"/p/a.pst"}},
		"target":{"endpoint":{"host":"h"},"login":"bob","password":{"file":"/s/pw"}},
		"checkpointConfigMap":"m-checkpoint","reportConfigMap":"m-report"}`
	if _, err := ParseSpec([]byte(good)); err != nil {
		t.Fatalf("a good spec: %v", err)
	}
	for name, bad := range map[string]string{
		"not JSON":        `{"namespace":`,
		"unknown field":   strings.Replace(good, `"run":"r"`, `"rum":"r"`, 1),
		"two sources":     strings.Replace(good, `{"pst":{"path":"/p/a.pst"}}`, `{"pst":{"path":"x"},"imap":{"endpoint":{"host":"h"}}}`, 1),
		"no source":       strings.Replace(good, `{"pst":{"path":"/p/a.pst"}}`, `{}`, 1),
		"no password":     strings.Replace(good, `,"password":{"file":"/s/pw"}`, ``, 1),
		"no checkpoint":   strings.Replace(good, `"checkpointConfigMap":"m-checkpoint",`, ``, 1),
		"bad groupware":   strings.Replace(good, `"run":"r"`, `"run":"r","groupware":"Kolab9"`, 1),
		"no target login": strings.Replace(good, `"login":"bob",`, ``, 1),
	} {
		_, err := ParseSpec([]byte(bad))
		var se *SpecError
		if err == nil || !errors.As(err, &se) {
			t.Errorf("%s: err = %v, want a SpecError", name, err)
		}
		s := &Summary{Result: "Failed", Reason: classify(err)}
		if s.ExitCode() != ExitInvalidSpec {
			t.Errorf("%s: exit code %d, want %d (a retry cannot help)", name, s.ExitCode(), ExitInvalidSpec)
		}
	}
}

func TestTerminationMessageFits(t *testing.T) {
	s := &Summary{Result: "Failed", Reason: "ProtocolError", Message: strings.Repeat("very long error ", 2000)}
	b := s.TerminationMessage()
	if len(b) > terminationMessageLimit {
		t.Fatalf("termination message is %d bytes, over the kubelet's %d", len(b), terminationMessageLimit)
	}
	back, ok := ParseSummary(string(b))
	if !ok || back.Reason != "ProtocolError" || !strings.HasPrefix(back.Message, "very long error") {
		t.Errorf("round trip: %v %+v", ok, back)
	}
	if _, ok := ParseSummary("panic: runtime error\ngoroutine 1"); ok {
		t.Error("a crash's log tail parsed as a summary")
	}
}

func TestReportDataBounded(t *testing.T) {
	rep := &worker.Report{Totals: worker.Totals{Failed: 40000}}
	for i := range 40000 {
		rep.Failed = append(rep.Failed, worker.FailedItem{Folder: "Inbox", Identity: fmt.Sprintf("<m%d@example.test>", i), Reason: "APPEND refused: too big for the server"})
	}
	data, err := reportData(rep)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(data[ReportKey]); n > maxReportBytes {
		t.Fatalf("report is %d bytes, over %d", n, maxReportBytes)
	}
	var cut worker.Report
	if err := json.Unmarshal([]byte(data[ReportKey]), &cut); err != nil {
		t.Fatal(err)
	}
	var note struct {
		Truncated     bool `json:"truncated"`
		FailedOmitted int  `json:"failedOmitted"`
	}
	if err := json.Unmarshal([]byte(data[SummaryKey]), &note); err != nil {
		t.Fatal(err)
	}
	if !note.Truncated || cut.Totals.Failed != 40000 || len(cut.Failed)+note.FailedOmitted != 40000 || len(cut.Failed) == 0 {
		t.Errorf("cut report: %d listed + %d omitted, totals %d, truncated %v", len(cut.Failed), note.FailedOmitted, cut.Totals.Failed, note.Truncated)
	}
	small, _ := reportData(&worker.Report{Failed: rep.Failed[:3]})
	if _, ok := small[SummaryKey]; ok {
		t.Error("a small report was marked as cut")
	}
}

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("migration-", 10)
	a, b := LabelValue(long+"a"), LabelValue(long+"b")
	if len(a) > 63 || a == b {
		t.Errorf("LabelValue: %q (%d) %q", a, len(a), b)
	}
	if LabelValue("short") != "short" {
		t.Error("short names change")
	}
}
