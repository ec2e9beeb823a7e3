package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/convert"
	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapx"
	"github.com/mailshift/mailshift/internal/testfixtures"
	"github.com/mailshift/mailshift/internal/testserver"
)

// childJob is what the re-executed test binary migrates (see TestChildMigration).
type childJob struct {
	PST        string
	Endpoint   imapx.Endpoint
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
	a := account{ep: cj.Endpoint, cred: imapx.Credentials{Login: cj.Login, Password: cj.Password, Flavor: "dovecot"}}
	job := Job{Target: a.target(cj.Prefix), Rules: foldermap.Rules{Root: strings.TrimSuffix(cj.Prefix, " "), RootSpecial: true},
		Checkpoints: FileCheckpoint{Path: cj.Checkpoint}, Batch: 3, Parallel: 3, RateMessages: cj.Rate}
	if cj.SourceLogin != "" {
		src, err := OpenIMAP(context.Background(), cj.Endpoint, imapbulk.Credentials{Login: cj.SourceLogin, Password: cj.SourcePassword})
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
	cj := childJob{PST: file, Endpoint: a.ep, Login: a.cred.Login, Password: a.cred.Password, Checkpoint: cpPath, Prefix: "K ", Rate: 12}
	killed, positions := killRepeatedly(t, cj, 24, nil)
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
	raw, _ := json.Marshal(cj)
	rnd := rand.New(rand.NewSource(1))
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
		delay := time.Duration(150+rnd.Intn(850)) * time.Millisecond
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
		Parallel: 4, Batch: 8, Rate: 100}
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
	if mid := reports[0]; mid.Done() == 0 || mid.Done() >= mid.ItemsTotal || mid.ETA <= 0 || mid.ItemsPerSecond <= 0 {
		t.Errorf("first progress %+v: want partial counts, a rate and an ETA", mid)
	}
}
