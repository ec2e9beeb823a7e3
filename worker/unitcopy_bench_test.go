package worker

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/testproxy"
	"github.com/mailshift/mailshift/internal/testserver"
)

// BenchmarkCopyIMAP copies a generated mailbox of 1,000 messages (1-200 KB, seven folders) from one Dovecot
// account to another with the engine's defaults, into a fresh root folder each round: on loopback, and
// through a proxy that adds 2 ms each way, where a round trip added to the APPEND path shows as time. It
// reports msg/s and the client's allocations per message, the costs a change of the unit's pipeline must
// not raise, and for the proxied copy the connections it opened per round.
func BenchmarkCopyIMAP(b *testing.B) {
	const total = 1000
	srv := testserver.Dovecot(b)
	src, dst := accountOf(srv, "alice"), accountOf(srv, "bob")
	loadCorpus(b, src, 0, total, "b")
	round := 0
	for _, setup := range []struct {
		name    string
		latency time.Duration
	}{{"loopback", 0}, {"latency-2ms", 2 * time.Millisecond}} {
		b.Run(setup.name, func(b *testing.B) {
			var p *testproxy.Proxy
			if setup.latency > 0 {
				p = testproxy.New(b, srv.Addr())
				p.SetLatency(setup.latency, setup.latency)
			}
			var copied int64
			var elapsed time.Duration
			var mallocs uint64
			var ms runtime.MemStats
			conns := 0
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				round++
				s, err := OpenIMAP(context.Background(), src.ep, imapconn.Credentials{Login: src.cred.Login, Password: src.cred.Password})
				if err != nil {
					b.Fatal(err)
				}
				job := Job{Source: s, Target: dst.target(""), Rules: foldermap.Rules{Root: fmt.Sprintf("Bench%d", round), RootSpecial: true}}
				if p != nil {
					job.Target.Endpoint = imapconn.Endpoint{Host: p.Host(), Port: p.Port(), TLS: imapconn.TLSNone, DialTimeout: 20 * time.Second}
				}
				before := 0
				if p != nil {
					before = len(p.Accepted())
				}
				runtime.ReadMemStats(&ms)
				m0 := ms.Mallocs
				b.StartTimer()
				start := time.Now()
				rep, err := Run(context.Background(), job)
				elapsed += time.Since(start)
				b.StopTimer()
				runtime.ReadMemStats(&ms)
				mallocs += ms.Mallocs - m0
				s.Close()
				if err != nil {
					b.Fatal(err)
				}
				if rep.Totals.Copied != total || rep.Totals.Failed != 0 {
					b.Fatalf("copied %d, failed %d, want %d copied", rep.Totals.Copied, rep.Totals.Failed, total)
				}
				copied += rep.Totals.Copied
				if p != nil {
					conns += len(p.Accepted()) - before
				}
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(copied)/elapsed.Seconds(), "msg/s")
			b.ReportMetric(float64(mallocs)/float64(copied), "allocs/msg")
			if p != nil {
				b.ReportMetric(float64(conns)/float64(b.N), "conns/op")
			}
		})
	}
}
