package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/convert"
	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/msgid"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

// childJob is what the re-executed test binary migrates (see TestChildMigration).
type childJob struct {
	PST        string
	Endpoint   imapconn.Endpoint
	Login      string
	Password   string
	Checkpoint string
	Prefix     string
	Rate       float64
	// SourceLogin and SourcePassword, when set, make the source the IMAP account on Endpoint instead of PST,
	// copied with Parallel connections (folders Include only).
	SourceLogin, SourcePassword string
	Include                     []string
	Parallel, Batch             int
	// AppendTo, when set, makes the child only append Appends messages to this folder of the account on
	// Endpoint, pipelined on one connection (see TestSettleAfterKilledAppends).
	AppendTo string
	Appends  int
}

const childEnv = "MAILSHIFT_WORKER_CHILD_JOB"

// TestMain runs the migration worker TestKillAndResume starts and kills, when this test binary is started
// as that worker.
func TestMain(m *testing.M) {
	if raw := os.Getenv(childEnv); raw != "" {
		os.Exit(childMigration(raw))
	}
	os.Exit(m.Run())
}

// childMigration is the worker process of TestKillAndResume.
func childMigration(raw string) int {
	var cj childJob
	if err := json.Unmarshal([]byte(raw), &cj); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	a := account{ep: cj.Endpoint, cred: imapconn.Credentials{Login: cj.Login, Password: cj.Password, Flavor: "dovecot"}}
	if cj.AppendTo != "" {
		return childAppend(cj)
	}
	job := Job{Target: a.target(cj.Prefix), Rules: foldermap.Rules{Root: strings.TrimSuffix(cj.Prefix, " "), RootSpecial: true},
		Checkpoints: FileCheckpoint{Path: cj.Checkpoint}, Batch: 3, Parallel: 3, RateMessages: cj.Rate}
	if cj.SourceLogin != "" {
		src, err := OpenIMAP(context.Background(), cj.Endpoint, imapconn.Credentials{Login: cj.SourceLogin, Password: cj.SourcePassword})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer src.Close()
		job.Source, job.Target, job.Rules = src, a.target(""), foldermap.Rules{Include: cj.Include}
		job.Parallel, job.Batch = cj.Parallel, cj.Batch
	} else {
		src, err := OpenPST(cj.PST, 0, convert.Options{Owner: groupware.Person{Email: "alice@example.test"}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer src.Close()
		job.Source = src
	}
	if _, err := Run(context.Background(), job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestKillAndResume kills the worker process with SIGKILL at 20 and more different points of a migration
// and starts it again each time; the end state is what an uninterrupted run gives: every item once, with
// its flags and date, nothing missing, nothing twice.
func TestKillAndResume(t *testing.T) {
	srv := testserver.Dovecot(t)
	a := accountOf(srv, "alice")
	file := filepath.Join(testfixtures.MustPSTDir(t), "pst2john-97_outlook_qwerty12345.pst")
	cpPath := filepath.Join(t.TempDir(), "checkpoint.json")
	cj := childJob{PST: file, Endpoint: a.ep, Login: a.cred.Login, Password: a.cred.Password, Checkpoint: cpPath, Prefix: "K ", Rate: 8}
	killed, positions := killRepeatedly(t, cj, 30, nil)
	if killed < 20 {
		t.Fatalf("only %d kills before the migration finished; slow the worker down", killed)
	}
	if len(positions) < 15 {
		t.Errorf("the kills stopped the worker at only %d different checkpoint positions", len(positions))
	}
	t.Logf("%d kills at %d different checkpoint positions, then a clean run", killed, len(positions))
	// Resume to the end in this process, then check the target against the PST.
	rep, gw := migratePST(t, a, file, "K ", func(j *Job) { j.Checkpoints = FileCheckpoint{Path: cpPath} })
	if rep.Totals.Failed > 0 {
		t.Fatalf("%d failed: %+v", rep.Totals.Failed, rep.Failed)
	}
	checkTarget(t, a, expectFromPST(t, file, rep, gw), 2)
}

// killRepeatedly starts the worker of cj and kills it with SIGKILL after a random delay, again and again,
// until it was killed kills times or finished on its own. It returns how many times it was killed and the
// checkpoint positions (checkpointDone) it left; after every kill, each is given the checkpoint.
func killRepeatedly(t *testing.T, cj childJob, kills int, each func(*Checkpoint)) (int, map[int]bool) {
	t.Helper()
	// A run started after a kill first waits for the target to settle (settleInterval at least): the window
	// grows by that much, so that kills still land well into the copy.
	lo, hi := 150*time.Millisecond, time.Second+2*settleInterval
	if raceEnabled {
		// The race runtime starts a worker about half a second later (the copy itself is rate-limited):
		// without the shift most kills would land before the first checkpoint.
		lo, hi = lo+400*time.Millisecond, hi+400*time.Millisecond
	}
	return killRepeatedlyBetween(t, cj, kills, lo, hi, 1, each)
}

// killRepeatedlyBetween is killRepeatedly with the kill delays drawn (seeded) from [lo, hi).
func killRepeatedlyBetween(t *testing.T, cj childJob, kills int, lo, hi time.Duration, seed int64, each func(*Checkpoint)) (int, map[int]bool) {
	t.Helper()
	raw, _ := json.Marshal(cj)
	rnd := rand.New(rand.NewSource(seed))
	killed, finished := 0, 0
	positions := map[int]bool{}
	for round := 0; killed < kills && round < 5*kills; round++ {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Anywhere from before the login to well into the copy.
		delay := lo + time.Duration(rnd.Int63n(int64(hi-lo)))
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("worker failed on its own: %v\n%s", err, out)
			}
			finished++
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed++
		}
		if finished > 0 {
			break // the copy is complete; later kills would only interrupt re-checks
		}
		positions[checkpointDone(t, cj.Checkpoint)] = true
		if each != nil {
			cp, err := FileCheckpoint{Path: cj.Checkpoint}.Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			each(cp)
		}
	}
	return killed, positions
}

// TestKillAndResumeSegments kills an IMAP-to-IMAP worker 20 and more times while a folder cut into four
// segments is being copied (its segments' checkpoints part done), and starts it again each time: in the
// end every message is on the target exactly once with its flags and date, including those whose
// Message-ID recurs in every segment.
func TestKillAndResumeSegments(t *testing.T) {
	srv := testserver.Dovecot(t)
	src, dst := accountOf(srv, "alice"), accountOf(srv, "bob")
	splitSource(t, src, 1200, 0, "r")
	cpPath := filepath.Join(t.TempDir(), "checkpoint.json")
	cj := childJob{Endpoint: dst.ep, Login: dst.cred.Login, Password: dst.cred.Password, Checkpoint: cpPath,
		SourceLogin: src.cred.Login, SourcePassword: src.cred.Password, Include: []string{"Big", "Small"},
		Parallel: 4, Batch: 8, Rate: 70}
	inFlight, segmented := 0, 0
	killed, positions := killRepeatedly(t, cj, 24, func(cp *Checkpoint) {
		if cp == nil || cp.Folders["Big"] == nil {
			return
		}
		segs := cp.Folders["Big"].Segments
		if len(segs) > 1 {
			segmented++
		}
		started, open := 0, 0
		for _, s := range segs {
			if s.Done > 0 {
				started++
			}
			if !s.Complete {
				open++
			}
		}
		if started >= 2 && open >= 2 {
			inFlight++ // killed while at least two segments were under way
		}
	})
	if killed < 20 {
		t.Fatalf("only %d kills before the migration finished; slow the worker down", killed)
	}
	if inFlight < 10 || segmented < killed/2 {
		t.Errorf("of %d kills, %d left Big cut into segments and %d with two or more segments under way; want most", killed, segmented, inFlight)
	}
	t.Logf("%d kills at %d different checkpoint positions, %d with segments under way, then a clean run", killed, len(positions), inFlight)
	rep := runIMAP(t, src, dst, func(j *Job) { j.Checkpoints = FileCheckpoint{Path: cpPath} })
	sc, dc := src.bulk(t), dst.bulk(t)
	exactlyOnce(t, sc, dc, "Big")
	exactlyOnce(t, sc, dc, "Small")
	if rep.Totals.Items != 1300 {
		t.Errorf("last run saw %d items, want 1300", rep.Totals.Items)
	}
}

// checkpointDone is the sum of the folders' positions in the checkpoint file.
func checkpointDone(t *testing.T, path string) int {
	cp, err := FileCheckpoint{Path: path}.Load(context.Background())
	if err != nil {
		t.Fatalf("after a kill: %v", err)
	}
	if cp == nil {
		return 0
	}
	n := 0
	for _, f := range cp.Folders {
		n += f.Done
	}
	return n
}

// TestProgress: progress comes at most once per interval while the run lasts, counts every item by its
// outcome, and a last report at the end accounts for all of them.
func TestProgress(t *testing.T) {
	a := accountOf(testserver.Dovecot(t), "alice")
	file := filepath.Join(testfixtures.MustPSTDir(t), "pst2john-97_outlook_qwerty12345.pst")
	var stamps []time.Time
	var reports []Progress
	rep, _ := migratePST(t, a, file, "P ", func(j *Job) {
		j.RateMessages = 80 // about two seconds
		j.OnProgress = func(p Progress) { stamps, reports = append(stamps, time.Now()), append(reports, p) }
	})
	if len(reports) < 2 {
		t.Fatalf("%d progress reports for a two-second run", len(reports))
	}
	for i := 1; i < len(stamps)-1; i++ { // the last one comes at the end, whenever that is
		if d := stamps[i].Sub(stamps[i-1]); d < 900*time.Millisecond {
			t.Errorf("progress reports %d and %d only %s apart", i-1, i, d)
		}
	}
	last := reports[len(reports)-1]
	if last.Done() != last.ItemsTotal || last.ItemsTotal != rep.Totals.Items || last.Copied != rep.Totals.Copied || last.FoldersDone != last.FoldersTotal {
		t.Errorf("last progress %+v, report totals %+v", last, rep.Totals)
	}
	// The first report that counts anything before the end must show partial counts, a rate and an ETA.
	// (Which report that is depends on the machine: the first batches of four folders sharing 80 messages a
	// second complete only after a second or so, later under the race detector.)
	var mid *Progress
	for i := range reports[:len(reports)-1] {
		if reports[i].Done() > 0 {
			mid = &reports[i]
			break
		}
	}
	if mid == nil {
		t.Fatalf("no progress report before the last counted anything: %+v", reports)
	}
	if mid.Done() >= mid.ItemsTotal || mid.ETA <= 0 || mid.ItemsPerSecond <= 0 {
		t.Errorf("first progress with counts %+v: want partial counts, a rate and an ETA", *mid)
	}
}

// TestKillAndRestartAtOnce kills an IMAP-to-IMAP worker (Dovecot, Maildir) with SIGKILL at random moments while it pipelines
// APPENDs into four folders and starts it again at once every time, then lets it finish: the target holds
// every source message exactly once. The server is still storing the APPENDs the dead worker had sent
// while its successor reads the target folders, so a successor that trusts its first look copies those
// messages a second time.
func TestKillAndRestartAtOnce(t *testing.T) {
	begin := time.Now()
	srv := testserver.DovecotWith(t, testserver.Options{Maildir: true})
	src, dst := accountOf(srv, "alice"), accountOf(srv, "bob")
	folders := []string{"Kill1", "Kill2", "Kill3", "Kill4"}
	fillKillSource(t, src, folders, 600)
	if _, err := os.Stat(filepath.Join(srv.Dir, "home", "alice", "Maildir")); err != nil {
		t.Fatalf("the server does not store mail in Maildir: %v", err)
	}
	cpPath := filepath.Join(t.TempDir(), "checkpoint.json")
	cj := childJob{Endpoint: dst.ep, Login: dst.cred.Login, Password: dst.cred.Password, Checkpoint: cpPath,
		SourceLogin: src.cred.Login, SourcePassword: src.cred.Password, Include: folders, Parallel: 4, Batch: 32,
		// Paced, so that the copy outlasts a dozen kills however fast the server stores (unpaced, a run
		// could finish before the first kill); 32 APPENDs a connection are still in flight at each.
		Rate: 240}
	filled := time.Now()
	killed, _ := killRepeatedlyBetween(t, cj, 12, 150*time.Millisecond, 1500*time.Millisecond, 13, nil)
	t.Logf("source filled in %s, kills took %s", filled.Sub(begin).Round(time.Millisecond), time.Since(filled).Round(time.Millisecond))
	if killed < 8 {
		t.Fatalf("only %d kills before the migration finished; the corpus is too small", killed)
	}
	rep := runIMAP(t, src, dst, func(j *Job) {
		j.Checkpoints = FileCheckpoint{Path: cpPath}
		j.Rules = foldermap.Rules{Include: folders}
	})
	sc, dc := src.bulk(t), dst.bulk(t)
	dups, missing := 0, 0
	for _, f := range folders {
		want := map[string]bool{}
		for _, m := range contents(t, sc, f) {
			want[msgid.Normalize(m.MessageID)] = true
		}
		got := map[string]int{}
		for _, m := range contents(t, dc, f) {
			got[msgid.Normalize(m.MessageID)]++
		}
		for id, n := range got {
			if n > 1 {
				dups += n - 1
			}
			if !want[id] {
				t.Errorf("%s: %s is on the target, not on the source", f, id)
			}
		}
		for id := range want {
			if got[id] == 0 {
				missing++
			}
		}
	}
	t.Logf("%d kills, each restarted at once; then a clean run that copied %d: %d duplicates, %d missing", killed, rep.Totals.Copied, dups, missing)
	if dups > 0 || missing > 0 {
		t.Errorf("%d duplicates and %d missing messages on the target, want none", dups, missing)
	}
}

// fillKillSource puts n small messages (2-12 KB, flags on some) into each folder.
func fillKillSource(t *testing.T, a account, folders []string, n int) {
	t.Helper()
	c := a.bulk(t)
	ctx := context.Background()
	for fi, f := range folders {
		if err := c.Create(ctx, f, ""); err != nil {
			t.Fatal(err)
		}
		var msgs []imapbulk.Message
		for i := 0; i < n; i++ {
			date := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(fi*n+i) * time.Minute)
			var b strings.Builder
			fmt.Fprintf(&b, "From: Sender <s%d@example.org>\r\nTo: bob@example.test\r\nSubject: %s %d\r\nDate: %s\r\nMessage-ID: <kill-%d-%d@example.org>\r\n\r\n",
				i%7, f, i, date.Format(time.RFC1123Z), fi, i)
			for b.Len() < 2048+(i%11)*1024 {
				b.WriteString("Pipelined and killed, then started again at once.\r\n")
			}
			var flags []string
			if i%2 == 0 {
				flags = []string{`\Seen`}
			}
			msgs = append(msgs, imapbulk.Message{Flags: flags, Date: date, Size: int64(b.Len()), Body: strings.NewReader(b.String())})
		}
		for len(msgs) > 0 {
			k := min(len(msgs), 200)
			res, err := c.Append(ctx, f, msgs[:k])
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			msgs = msgs[k:]
		}
	}
}

// TestCheckpointCheckedAgainstTarget: a finished checkpoint is not believed over the target. A PST migrated
// with a checkpoint, then the account emptied on the server (its folders deleted), then the same job again:
// everything is copied again, and "already there" counts only what the target holds. The same after the
// server is replaced by a fresh one on the same host, port and login.
func TestCheckpointCheckedAgainstTarget(t *testing.T) {
	srv := testserver.Dovecot(t)
	a := accountOf(srv, "bob")
	file := filepath.Join(testfixtures.MustPSTDir(t), "pst2john-97_outlook_qwerty12345.pst")
	cp := FileCheckpoint{Path: filepath.Join(t.TempDir(), "checkpoint.json")}
	withCP := func(j *Job) { j.Checkpoints = cp }
	first, gw := migratePST(t, a, file, "E ", withCP)
	if first.Totals.Copied == 0 {
		t.Fatalf("the first run copied nothing: %+v", first.Totals)
	}
	if again, _ := migratePST(t, a, file, "E ", withCP); again.Totals.Copied != 0 || again.Totals.Duplicates != first.Totals.Copied+first.Totals.Duplicates {
		t.Errorf("a second run over the full target: %+v", again.Totals)
	}
	rerun := func(what string) {
		t.Helper()
		rep, _ := migratePST(t, a, file, "E ", withCP)
		if rep.Totals.Copied != first.Totals.Copied || rep.Totals.Duplicates != first.Totals.Duplicates {
			t.Errorf("after %s: copied %d, already there %d; want %d copied, %d already there (as the first run)",
				what, rep.Totals.Copied, rep.Totals.Duplicates, first.Totals.Copied, first.Totals.Duplicates)
		}
		checkTarget(t, a, expectFromPST(t, file, rep, gw), 2)
	}

	// The account emptied: every folder but INBOX deleted, children first.
	c := a.bulk(t)
	ctx := context.Background()
	folders, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(folders, func(i, j int) bool { return len(folders[i].Name) > len(folders[j].Name) })
	for _, f := range folders {
		if !strings.EqualFold(f.Name, "INBOX") {
			if err := c.Delete(ctx, f.Name); err != nil {
				t.Fatalf("delete %q: %v", f.Name, err)
			}
		}
	}
	c.Close()
	rerun("the target account was emptied")

	// A fresh server on the same host, port and login: no mail at all.
	if err := os.RemoveAll(filepath.Join(srv.Dir, "home", "bob")); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	rerun("the server was replaced by a fresh one")
}

// TestSecondRunRefused: while one worker runs on a checkpoint, a second run on the same checkpoint refuses
// to start (ErrCheckpointInUse) and copies nothing; the first finishes with every message once.
func TestSecondRunRefused(t *testing.T) {
	srv := testserver.Dovecot(t)
	src, dst := accountOf(srv, "alice"), accountOf(srv, "carol")
	fillKillSource(t, src, []string{"Busy"}, 150)
	cpPath := filepath.Join(t.TempDir(), "checkpoint.json")
	cj := childJob{Endpoint: dst.ep, Login: dst.cred.Login, Password: dst.cred.Password, Checkpoint: cpPath,
		SourceLogin: src.cred.Login, SourcePassword: src.cred.Password, Include: []string{"Busy"}, Parallel: 2, Batch: 8, Rate: 60}
	raw, _ := json.Marshal(cj)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The first run is under way once its checkpoint exists.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(cpPath); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the first run wrote no checkpoint\n%s", out)
		}
	}
	s, err := OpenIMAP(context.Background(), src.ep, imapconn.Credentials{Login: src.cred.Login, Password: src.cred.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := Run(context.Background(), Job{Source: s, Target: dst.target(""), Rules: foldermap.Rules{Include: []string{"Busy"}}, Checkpoints: FileCheckpoint{Path: cpPath}})
	if !errors.Is(err, ErrCheckpointInUse) || rep.Totals.Copied != 0 {
		t.Errorf("a second run while the first runs: %v, copied %d; want ErrCheckpointInUse and nothing copied", err, rep.Totals.Copied)
	}
	select {
	case <-done:
		t.Fatalf("the first run ended before the second was tried; slow it down\n%s", out)
	default:
	}
	if err := <-done; err != nil {
		t.Fatalf("the first run: %v\n%s", err, out)
	}
	exactlyOnce(t, src.bulk(t), dst.bulk(t), "Busy")
}

// childAppend is the process TestSettleAfterKilledAppends kills: it pipelines APPENDs as fast as it can.
func childAppend(cj childJob) int {
	c, err := imapbulk.Dial(context.Background(), cj.Endpoint, imapconn.Credentials{Login: cj.Login, Password: cj.Password})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var msgs []imapbulk.Message
	for i := 0; i < cj.Appends; i++ {
		body := fmt.Sprintf("From: s@example.org\r\nSubject: settle %d\r\nMessage-ID: <settle-%d@example.org>\r\n\r\n%s\r\n", i, i, strings.Repeat("x", 3000))
		msgs = append(msgs, imapbulk.Message{Size: int64(len(body)), Body: strings.NewReader(body)})
	}
	if _, err := c.Append(context.Background(), cj.AppendTo, msgs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestSettleAfterKilledAppends: a process pipelining APPENDs is killed with SIGKILL; the server goes on
// storing what it had received. waitQuiet returns only once it is done, on Dovecot (sdbox and Maildir) and
// on Cyrus: the
// mailbox holds no more messages a while later than when waitQuiet returned.
func TestSettleAfterKilledAppends(t *testing.T) {
	for _, server := range []struct {
		name  string
		start func(testing.TB) *testserver.Server
	}{
		{"dovecot-sdbox", testserver.Dovecot},
		{"dovecot-maildir", func(t testing.TB) *testserver.Server {
			return testserver.DovecotWith(t, testserver.Options{Maildir: true})
		}},
		{"cyrus", func(t testing.TB) *testserver.Server { return testserver.Cyrus(t, "modern") }},
	} {
		t.Run(server.name, func(t *testing.T) {
			a := accountOf(server.start(t), "bob")
			ctx := context.Background()
			c := a.bulk(t)
			if err := c.Create(ctx, "Quiet", ""); err != nil {
				t.Fatal(err)
			}
			cj := childJob{Endpoint: a.ep, Login: a.cred.Login, Password: a.cred.Password, AppendTo: "Quiet", Appends: 3000}
			raw, _ := json.Marshal(cj)
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
			out := &strings.Builder{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Killed once it has been appending for a moment.
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				st, err := c.Status(ctx, "Quiet")
				if err != nil {
					t.Fatal(err)
				}
				if st.Exists >= 20 {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("the child appended nothing\n%s", out)
				}
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			atKill, err := c.Status(ctx, "Quiet")
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := waitQuiet(ctx, c, []string{"Quiet"}); err != nil {
				t.Fatal(err)
			}
			settled, err := c.Status(ctx, "Quiet")
			if err != nil {
				t.Fatal(err)
			}
			waited := time.Since(start)
			time.Sleep(3 * settleInterval)
			later, err := c.Status(ctx, "Quiet")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d messages when the child was killed, %d once settled (after %s), %d later", atKill.Exists, settled.Exists, waited.Round(time.Millisecond), later.Exists)
			if later.Exists != settled.Exists || later.UIDNext != settled.UIDNext {
				t.Errorf("the mailbox changed after waitQuiet returned: %d messages (UIDNEXT %d), then %d (UIDNEXT %d)", settled.Exists, settled.UIDNext, later.Exists, later.UIDNext)
			}
		})
	}
}
