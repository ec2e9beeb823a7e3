package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReconcileTotalsSumsResultsPerController(t *testing.T) {
	metrics := `# HELP controller_runtime_reconcile_total Total number of reconciliations per controller
# TYPE controller_runtime_reconcile_total counter
controller_runtime_reconcile_total{controller="mailbox",result="error"} 3
controller_runtime_reconcile_total{controller="mailbox",result="requeue"} 0
controller_runtime_reconcile_total{controller="mailbox",result="success"} 1200
controller_runtime_reconcile_total{controller="foldershare",result="success"} 7.0e+02
controller_runtime_reconcile_errors_total{controller="mailbox"} 3
controller_runtime_reconcile_time_seconds_count{controller="mailbox"} 1203
`
	got := reconcileTotals([]byte(metrics))
	if got["mailbox"] != 1203 || got["foldershare"] != 700 || len(got) != 2 {
		t.Errorf("reconcileTotals = %v, want mailbox 1203, foldershare 700", got)
	}
}

func TestCountLoginsCountsDovecotLoginLines(t *testing.T) {
	// Lines as Dovecot 2.3 writes them (hack/dovecot.sh's info_log_path), a master-user login included.
	log := strings.Join([]string{
		"Dec 05 02:18:07 master: Info: Dovecot v2.3.19.1 (9b53102964) starting up for imap (core dumps disabled)",
		"Dec 05 02:18:07 imap-login: Info: Disconnected: Aborted login by logging out (no auth attempts in 0 secs): user=<>, rip=127.0.0.1, lip=127.0.0.1, secured, session=<LwR4mtlhRpJ/AAAB>",
		"Dec 05 02:18:07 imap-login: Info: Login: user=<u00001>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=10709, secured, session=<QP96mtlhVpJ/AAAB>",
		"Dec 05 02:18:07 imap(u00001)<10709><QP96mtlhVpJ/AAAB>: Info: Disconnected: Logged out in=48 out=602",
		"Dec 05 02:18:08 imap-login: Info: Login: user=<u00002>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=10793, secured, session=<IlqFmtlhWJJ/AAAB>",
		"Dec 05 02:18:08 imap-login: Info: Login: user=<u00001>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=10794, secured, session=<IlqFmtlhWJK/AAAB>",
		"Dec 05 02:18:09 imap-login: Info: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 0 secs): user=<u00003>, method=PLAIN, rip=127.0.0.1",
		"Dec 05 02:18:09 imap(u00002): Info: a line longer than the reader's buffer " + strings.Repeat("x", 200<<10),
		"Dec 05 02:18:10 imap-login: Info: Login: user=<u00003>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=10795, secured, session=<IlqFmtlhWJL/AAAB>",
	}, "\n") + "\n"
	path := filepath.Join(t.TempDir(), "dovecot.log")
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	ok, failed, byUser, err := countLogins(path)
	if err != nil {
		t.Fatal(err)
	}
	if ok != 4 || failed != 1 {
		t.Errorf("logins %d, failed %d; want 4 and 1", ok, failed)
	}
	if byUser["u00001"] != 2 || byUser["u00002"] != 1 || byUser["u00003"] != 1 || len(byUser) != 3 {
		t.Errorf("by user %v", byUser)
	}
}

func TestStatusFieldReadsKilobytes(t *testing.T) {
	status := []byte("Name:\tmanager\nVmPeak:\t 1300000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\nThreads:\t12\n")
	if got := statusField(status, "VmHWM:"); got != 81234<<10 {
		t.Errorf("VmHWM = %d", got)
	}
	if got := statusField(status, "VmRSS:"); got != 70000<<10 {
		t.Errorf("VmRSS = %d", got)
	}
	if got := statusField(status, "VmSwap:"); got != 0 {
		t.Errorf("missing field = %d", got)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := configFromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.mailboxes != 1000 || c.shares != 1000 || c.publications != 200 || c.window != 4*time.Minute || c.resync != 2*time.Minute {
		t.Errorf("defaults: %+v", c)
	}
	if c.objects() != 2201 {
		t.Errorf("objects() = %d, want 2201", c.objects())
	}
	c, err = configFromEnv(env(map[string]string{"SCALE_MAILBOXES": "100", "SCALE_SHARES": "100",
		"SCALE_PUBLICATIONS": "20", "SCALE_WINDOW": "3m", "SCALE_RESYNC": "1m"}))
	if err != nil || c.mailboxes != 100 || c.publications != 20 || c.window != 3*time.Minute || c.resync != time.Minute {
		t.Errorf("small run: %+v, %v", c, err)
	}
	for _, bad := range []map[string]string{
		{"SCALE_MAILBOXES": "1"},
		{"SCALE_MAILBOXES": "lots"},
		{"SCALE_SHARES": "-1"},
		{"SCALE_MAILBOXES": "10", "SCALE_PUBLICATIONS": "11"},
		{"SCALE_WINDOW": "1s"},
		{"SCALE_RESYNC": "2"},
		{"SCALE_MANAGER": "/nonexistent/manager"},
	} {
		if _, err := configFromEnv(env(bad)); err == nil {
			t.Errorf("%v: accepted", bad)
		} else if !strings.Contains(err.Error(), "SCALE_") {
			t.Errorf("%v: error %q does not name the variable", bad, err)
		}
	}
}

func TestImapOperationsSumsServersPerOperationAndResult(t *testing.T) {
	metrics := `mailshift_imap_operations_total{operation="login",result="ok",server="a"} 10
mailshift_imap_operations_total{operation="login",result="ok",server="b"} 5
mailshift_imap_operations_total{operation="login",result="AuthFailed",server="a"} 2
mailshift_imap_operations_total{operation="freebusy-read",result="ok",server="a"} 4
mailshift_imap_operation_duration_seconds_count{operation="login",server="a"} 12
`
	got := imapOperations([]byte(metrics))
	if got["login ok"] != 15 || got["login AuthFailed"] != 2 || got["freebusy-read ok"] != 4 || len(got) != 3 {
		t.Errorf("imapOperations = %v", got)
	}
}

func TestTargetsMet(t *testing.T) {
	cfg := config{mailboxes: 10, shares: 10, publications: 2, resync: time.Minute, window: 2 * time.Minute}
	// 23 objects over 2 periods: a budget of 46 logins.
	good := result{allReady: true, window: 2 * time.Minute, logins: 46, rssPeak: 100 << 20, rssWindowMax: 90 << 20}
	if !good.targetsMet(cfg) {
		t.Errorf("46 logins for 23 objects over 2 periods, 100 MiB: not met")
	}
	for name, r := range map[string]result{
		"one login too many": {allReady: true, window: 2 * time.Minute, logins: 47, rssPeak: 100 << 20},
		"RSS peak":           {allReady: true, window: 2 * time.Minute, logins: 1, rssPeak: rssTarget},
		"RSS in the window":  {allReady: true, window: 2 * time.Minute, logins: 1, rssPeak: 1, rssWindowMax: rssTarget},
		"not all Ready":      {allReady: false},
		"lost Ready":         {allReady: true, window: 2 * time.Minute, notReady: notReady{"Mailbox": {"AuthFailed": 1}}},
		"no window":          {allReady: true},
	} {
		if r.targetsMet(cfg) {
			t.Errorf("%s: met", name)
		}
	}
}

func TestLoginGroupsSplitPublishedUsers(t *testing.T) {
	cfg := config{mailboxes: 4, publications: 1}
	r := result{loginsByUser: counts{"u00001": 6, "u00002": 2, "u00003": 2, "u00004": 2, "mailadmin": 9}}
	g := r.loginGroups(cfg)
	if len(g) != 2 || g[0].users != 1 || g[0].logins != 6 || g[1].users != 3 || g[1].logins != 6 {
		t.Errorf("loginGroups = %+v", g)
	}
}
