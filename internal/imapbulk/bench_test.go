package imapbulk

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/testserver"
)

// BenchmarkAppendDovecot appends 1–200 KB messages (mostly small) into a
// SELECTed Dovecot folder, pipelined (LITERAL+, window 32) and one at a
// time (synchronizing literals, window 1), and reports msg/s.
func BenchmarkAppendDovecot(b *testing.B) {
	srv := testserver.Dovecot(b)
	rng := rand.New(rand.NewSource(42))
	const corpus = 200
	bodies := make([][]byte, corpus)
	for i := range bodies {
		size := 1000 + rng.Intn(20_000)
		if i%10 == 0 {
			size = 1000 + rng.Intn(200_000)
		}
		bodies[i] = testMessage(rng, i, size)
	}
	for _, mode := range []struct {
		name string
		opts AppendOptions
	}{
		{"pipelined", AppendOptions{}},
		{"sequential", AppendOptions{Window: 1, SyncLiterals: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			c := dial(b, srv, userCred(srv, "alice"))
			ctx := context.Background()
			folder := fmt.Sprintf("Bench-%s-%d", mode.name, time.Now().UnixNano())
			if err := c.Create(ctx, folder, ""); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Select(ctx, folder, false); err != nil {
				b.Fatal(err)
			}
			c.SetAppendOptions(mode.opts)
			msgs := make([]Message, corpus)
			b.ResetTimer()
			start := time.Now()
			for n := 0; n < b.N; n++ {
				for i := range msgs {
					msgs[i] = Message{Flags: []string{`\Seen`}, Date: time.Now(), Size: int64(len(bodies[i])), Body: bytes.NewReader(bodies[i])}
				}
				res, err := c.Append(ctx, folder, msgs)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			b.ReportMetric(float64(b.N*corpus)/time.Since(start).Seconds(), "msg/s")
		})
	}
}
