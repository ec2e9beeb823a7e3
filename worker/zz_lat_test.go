package worker

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapx"
	"github.com/mailshift/mailshift/internal/testproxy"
	"github.com/mailshift/mailshift/internal/testserver"
)

func TestZZLatency(t *testing.T) {
	os.Setenv("MAILSHIFT_DOVECOT_FSYNC", "never")
	srv := testserver.Dovecot(t)
	src0 := accountOf(srv, "alice")
	loadCorpus(t, src0, 0, 2000, "p")
	for i, lat := range []time.Duration{0, 5 * time.Millisecond, 0, 5 * time.Millisecond} {
		src, dst := accountOf(srv, "alice"), accountOf(srv, []string{"bob", "carol", "mailadmin", "bob"}[i%3])
		if i == 3 {
			dst = accountOf(srv, "carol")
		}
		px := testproxy.New(t, srv.Addr())
		px.SetLatency(lat, lat)
		src.ep.Host, src.ep.Port, src.ep.TLS = px.Host(), px.Port(), imapx.TLSNone
		dst.ep.Host, dst.ep.Port, dst.ep.TLS = px.Host(), px.Port(), imapx.TLSNone
		s, err := OpenIMAP(context.Background(), src.ep, imapbulk.Credentials{Login: src.cred.Login, Password: src.cred.Password})
		if err != nil {
			t.Fatal(err)
		}
		st := time.Now()
		rep, err := Run(context.Background(), Job{Source: s, Target: dst.target(time.Now().Format("150405.000 "))})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("latency %s: %d in %s", lat, rep.Totals.Copied, time.Since(st))
		s.Close()
	}
}
