package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// counts maps a name (a controller, a user) to a counter.
type counts map[string]int64

func (c counts) minus(before counts) counts {
	out := counts{}
	for k, v := range c {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func (c counts) sum() int64 {
	var s int64
	for _, v := range c {
		s += v
	}
	return s
}

// snapshot is the counters at one moment.
type snapshot struct {
	at           time.Time
	reconciles   counts // by controller, every result
	logins       int64  // successful IMAP logins Dovecot logged since it started
	failedLogins int64
	loginsByUser counts
	imapOps      counts // mailshift_imap_operations_total by operation and result ("login ok")
}

func (b *bench) snapshot(ctx context.Context) (snapshot, error) {
	s := snapshot{at: time.Now()}
	body, err := scrapeMetrics(ctx, b.metricsURL)
	if err != nil {
		return s, fmt.Errorf("manager metrics: %w", err)
	}
	s.reconciles = reconcileTotals(body)
	s.imapOps = imapOperations(body)
	if len(s.reconciles) == 0 {
		return s, fmt.Errorf("the manager's /metrics has no controller_runtime_reconcile_total")
	}
	s.logins, s.failedLogins, s.loginsByUser, err = countLogins(filepath.Join(b.dovecotDir, "dovecot.log"))
	return s, err
}

// reconcileTotals sums controller_runtime_reconcile_total over its result label, per controller.
func reconcileTotals(metrics []byte) counts {
	return sumCounter(metrics, "controller_runtime_reconcile_total", func(labels string) string {
		return labelValue(labels, "controller")
	})
}

// imapOperations sums mailshift_imap_operations_total per operation and result, over servers.
func imapOperations(metrics []byte) counts {
	return sumCounter(metrics, "mailshift_imap_operations_total", func(labels string) string {
		return labelValue(labels, "operation") + " " + labelValue(labels, "result")
	})
}

// sumCounter sums the samples of one counter in a Prometheus text exposition by the key its labels give.
func sumCounter(metrics []byte, name string, key func(labels string) string) counts {
	out := counts{}
	for _, line := range strings.Split(string(metrics), "\n") {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		out[key(labels)] += int64(v)
	}
	return out
}

func labelValue(labels, name string) string {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// countLogins counts the logins Dovecot's log records since the server started: its login process writes one
// "imap-login: Info: Login: user=<name>, ..." line per successful login (master-user logins under the user
// logged in as) and "auth failed" in the line of a session that failed to log in.
func countLogins(path string) (ok, failed int64, byUser counts, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, nil, err
	}
	defer f.Close()
	byUser = counts{}
	r := bufio.NewReaderSize(f, 64<<10)
	const loginMark, failMark = "imap-login: Info: Login: user=<", "(auth failed"
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer is no login line: skip to its end.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			continue
		}
		if i := bytes.Index(line, []byte(loginMark)); i >= 0 {
			user, _, _ := bytes.Cut(line[i+len(loginMark):], []byte(">"))
			ok++
			byUser[string(user)]++
		} else if bytes.Contains(line, []byte(failMark)) {
			failed++
		}
		if errors.Is(err, io.EOF) {
			return ok, failed, byUser, nil
		}
		if err != nil {
			return 0, 0, nil, err
		}
	}
}

// rssSampler reads the manager's memory from /proc/<pid>/status every interval.
type rssSampler struct {
	mu          sync.Mutex
	hwm, rss    int64 // bytes: the kernel's peak (VmHWM) and the latest VmRSS
	windowMax   int64 // highest VmRSS since markWindow
	windowStart bool
	path        string
}

func startRSSSampler(ctx context.Context, pid int, every time.Duration) *rssSampler {
	s := &rssSampler{path: fmt.Sprintf("/proc/%d/status", pid)}
	s.sample()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !s.sample() {
					return
				}
			}
		}
	}()
	return s
}

// sample reads the status file once; false once the process is gone.
func (s *rssSampler) sample() bool {
	data, err := os.ReadFile(s.path)
	if err != nil {
		return false
	}
	hwm, rss := statusField(data, "VmHWM:"), statusField(data, "VmRSS:")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hwm, s.rss = max(s.hwm, hwm), rss
	if s.windowStart {
		s.windowMax = max(s.windowMax, rss)
	}
	return true
}

// statusField returns a "Name:   1234 kB" field of /proc/<pid>/status in bytes.
func statusField(status []byte, name string) int64 {
	for _, line := range strings.Split(string(status), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 2 && f[1] == "kB" {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return n << 10
			}
		}
	}
	return 0
}

func (s *rssSampler) markWindow() {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.windowStart, s.windowMax = true, s.rss
}

func (s *rssSampler) peak() (int64, bool) {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hwm, s.hwm > 0
}

// summary returns the peak of the whole run, the highest and the last RSS of the window.
func (s *rssSampler) summary() (peak, windowMax, last int64) {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hwm, s.windowMax, s.rss
}

// result is what a run measured.
type result struct {
	applyTime, readyTime time.Duration
	allReady             bool
	notReady             notReady

	window        time.Duration
	reconciles    counts
	logins        int64
	failedLogins  int64
	loginsByUser  counts
	rssPeak       int64
	rssWindowMax  int64
	rssWindowLast int64
	imapOps       counts // the manager's own mailshift_imap_operations_total by operation, in the window
	total         time.Duration
}

const rssTarget = 256 << 20

// targetsMet says whether the run met both targets: everything Ready (and still Ready at the end of the
// window), RSS under rssTarget throughout, at most one login per object per resync period.
func (r *result) targetsMet(cfg config) bool {
	if !r.allReady || countNotReady(r.notReady) > 0 || r.window <= 0 {
		return false
	}
	return r.rssPeak < rssTarget && r.rssWindowMax < rssTarget && r.loginsPerObjectPeriod(cfg) <= 1
}

// loginsPerObjectPeriod is the window's Dovecot logins divided by the budget: one per object per period.
func (r *result) loginsPerObjectPeriod(cfg config) float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(r.logins) / (float64(cfg.objects()) * r.window.Seconds() / cfg.resync.Seconds())
}

// print writes the result as a table: what was measured, its value, the target and whether it was met.
func (r *result) print(w io.Writer, cfg config) {
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Fprintf(w, "\nbench-scale: %d Mailboxes, %d FolderShares, %d FreeBusyPublications, %d SyncPolicies, 1 MailServer (%d login budgets: a policy counts twice) on one Dovecot\n",
		cfg.mailboxes, cfg.shares, cfg.publications, cfg.policies, cfg.objects())
	fmt.Fprintf(w, "             every object's resync period %s; steady-state window %s; load average %s\n\n", cfg.resync, cfg.window, loadAverage())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(what, value, target, v string) { fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", what, value, target, v) }
	row("MEASURE", "VALUE", "TARGET", "")
	row("objects created in", r.applyTime.Round(10*time.Millisecond).String(), "", "")
	if !r.allReady {
		row("all Ready", fmt.Sprintf("no: %d not Ready after %s (%s)", countNotReady(r.notReady), cfg.readyTimeout, r.notReady), "all Ready", "MISSED")
		if r.rssPeak > 0 {
			row("manager RSS peak (VmHWM)", mib(r.rssPeak), "< "+mib(rssTarget), verdict(r.rssPeak < rssTarget))
		}
		tw.Flush()
		return
	}
	row("all Ready after", r.readyTime.Round(100*time.Millisecond).String()+" (from the first create)", "all Ready", "met")
	if r.window > 0 {
		minutes := r.window.Minutes()
		row("steady-state window", r.window.Round(time.Second).String(), "", "")
		var names []string
		for k := range r.reconciles {
			names = append(names, k)
		}
		sort.Strings(names)
		row("reconciles per minute", fmt.Sprintf("%.1f", float64(r.reconciles.sum())/minutes), "", "")
		for _, k := range names {
			row("  "+k, fmt.Sprintf("%.1f", float64(r.reconciles[k])/minutes), "", "")
		}
		row("IMAP logins per minute (Dovecot)", fmt.Sprintf("%.1f (%d in the window, %d failed)", float64(r.logins)/minutes, r.logins, r.failedLogins), "", "")
		periods := r.window.Seconds() / cfg.resync.Seconds()
		row("logins per object per resync period", fmt.Sprintf("%.2f (%d logins / %d objects / %.2f periods)", r.loginsPerObjectPeriod(cfg),
			r.logins, cfg.objects(), periods), "<= 1", verdict(r.loginsPerObjectPeriod(cfg) <= 1))
		var ops []string
		for k := range r.imapOps {
			ops = append(ops, k)
		}
		sort.Strings(ops)
		for _, k := range ops {
			row("  manager IMAP "+k+" per minute", fmt.Sprintf("%.1f", float64(r.imapOps[k])/minutes), "", "")
		}
		if top, n := r.loginsByUser.top(); n > 0 {
			row("  most logins by one user", fmt.Sprintf("%s %d (%d users logged in)", top, n, len(r.loginsByUser)), "", "")
		}
		for _, g := range r.loginGroups(cfg) {
			row("  "+g.name, fmt.Sprintf("%.2f logins per user per period", float64(g.logins)/float64(g.users)/periods), "", "")
		}
	}
	row("manager RSS peak (VmHWM)", mib(r.rssPeak), "< "+mib(rssTarget), verdict(r.rssPeak < rssTarget))
	if r.window > 0 {
		row("manager RSS in the window", fmt.Sprintf("max %s, at the end %s", mib(r.rssWindowMax), mib(r.rssWindowLast)),
			"< "+mib(rssTarget), verdict(r.rssWindowMax < rssTarget))
	}
	if n := countNotReady(r.notReady); n > 0 {
		row("NOT Ready at the end of the window", fmt.Sprintf("%d (%s)", n, r.notReady), "0", "MISSED")
	}
	row("whole run", r.total.Round(time.Second).String(), "", "")
	tw.Flush()
	if r.targetsMet(cfg) {
		fmt.Fprintln(w, "\nbench-scale: all targets met")
	} else {
		fmt.Fprintln(w, "\nbench-scale: TARGETS MISSED")
	}
}

// loginGroup is the logins of the users that carry the same set of objects.
type loginGroup struct {
	name          string
	users, logins int64
}

// loginGroups splits the window's logins by the objects a user carries, which points at the controller
// that logs in too often: every user has a Mailbox; with SCALE_SHARES >= SCALE_MAILBOXES every user owns a
// FolderShare and is the grantee of one; the first SCALE_PUBLICATIONS users also have a publication.
func (r *result) loginGroups(cfg config) []loginGroup {
	pub := loginGroup{name: "users with a publication"}
	rest := loginGroup{name: "users without one"}
	for i := 1; i <= cfg.mailboxes; i++ {
		g := &rest
		if i <= cfg.publications {
			g = &pub
		}
		g.users++
		g.logins += r.loginsByUser[login(i)]
	}
	var out []loginGroup
	for _, g := range []loginGroup{pub, rest} {
		if g.users > 0 {
			out = append(out, g)
		}
	}
	return out
}

func (c counts) top() (string, int64) {
	var name string
	var n int64
	for k, v := range c {
		if v > n || (v == n && k < name) {
			name, n = k, v
		}
	}
	return name, n
}

// loadAverage is the 1-, 5- and 15-minute load of the machine: the numbers are noisy under load.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
