package opmetrics

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mailshift/mailshift/internal/ftppublish"
)

// TestObserveFTPUsesFTPKinds: an FTP upload is counted as an FTP operation with the FTP client's failure
// kind, not as an IMAP operation through IMAP's classifier (which knows no FTP errors).
func TestObserveFTPUsesFTPKinds(t *testing.T) {
	imapBefore := testutil.CollectAndCount(operations)
	refused := &ftppublish.Error{Kind: ftppublish.KindFTPAuthFailed, Op: "login", Err: errors.New("ftp://127.0.0.1:2121: 530 Login incorrect")}
	ObserveFTP("publish", "127.0.0.1", time.Now(), refused)
	ObserveFTP("publish", "127.0.0.1", time.Now(), nil)
	ObserveFTP("publish", "127.0.0.1", time.Now(), errors.New("not from the FTP client"))
	for result, want := range map[string]float64{"FTPAuthFailed": 1, "ok": 1, "ProtocolError": 1} {
		if got := testutil.ToFloat64(ftpOperations.WithLabelValues("publish", "127.0.0.1", result)); got != want {
			t.Errorf("mailshift_ftp_operations_total{result=%q} = %v, want %v", result, got, want)
		}
	}
	if n := testutil.CollectAndCount(operations); n != imapBefore {
		t.Errorf("FTP operations added %d IMAP operation series", n-imapBefore)
	}
	if n := testutil.CollectAndCount(ftpDurations); n != 1 {
		t.Errorf("%d FTP duration series, want 1", n)
	}
}
