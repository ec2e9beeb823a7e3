package worker

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
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

// TestSplitPlan: only a folder larger than its share of the run (and of minSplit items or more) is cut, into
// segments that fill the connections the other folders leave free; the segments add up to the folder.
func TestSplitPlan(t *testing.T) {
	for _, c := range []struct {
		name     string
		loads    []int
		cuttable []bool // nil: all
		parallel int
		want     [][]int
	}{
		// The benchmark's corpus: INBOX holds 38 %; the other folders keep 1108, 808, 711 and 482 items on
		// the four connections, INBOX fills them up to 1250 each.
		{"benchmark corpus", []int{1891, 1108, 808, 711, 482}, nil, 4, [][]int{{768, 539, 442, 142}, nil, nil, nil, nil}},
		{"one folder", []int{5000}, nil, 4, [][]int{{1250, 1250, 1250, 1250}}},
		{"two big folders", []int{3000, 3000}, nil, 4, [][]int{{1500, 1500}, {1500, 1500}}},
		{"one connection", []int{5000, 10}, nil, 1, [][]int{nil, nil}},
		{"within its share", []int{1250, 1250, 1250, 1250}, nil, 4, [][]int{nil, nil, nil, nil}},
		{"under minSplit", []int{499, 10, 10, 10}, nil, 4, [][]int{nil, nil, nil, nil}},
		{"not cuttable", []int{5000, 10}, []bool{false, true}, 4, [][]int{nil, nil}},
		// The others nearly fill three connections: the room left there is under minSegment and joins the
		// big segment; cutting would gain nothing, so the folder stays whole.
		{"room too small", []int{1300, 1200, 1200, 1200, 100}, nil, 4, [][]int{nil, nil, nil, nil, nil}},
		{"resumed folders keep their load", []int{2000, 600, 600}, []bool{true, false, false}, 4, [][]int{{800, 800, 200, 200}, nil, nil}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cuttable := c.cuttable
			if cuttable == nil {
				cuttable = make([]bool, len(c.loads))
				for i := range cuttable {
					cuttable[i] = true
				}
			}
			got := splitPlan(c.loads, cuttable, c.parallel)
			for i := range c.loads {
				if !slices.Equal(got[i], c.want[i]) {
					t.Errorf("folder %d (%d items): segments %v, want %v", i, c.loads[i], got[i], c.want[i])
				}
				if got[i] == nil {
					continue
				}
				sum := 0
				for _, n := range got[i] {
					sum += n
					if n < minSegment {
						t.Errorf("folder %d: segment of %d items", i, n)
					}
				}
				if sum != c.loads[i] {
					t.Errorf("folder %d: segments add up to %d, want %d", i, sum, c.loads[i])
				}
			}
		})
	}
}

// TestPSTSpans: the spans Split cuts a PST folder into cover it, each item once, in order, and a span
// resumes from its own Done.
func TestPSTSpans(t *testing.T) {
	path := filepath.Join(testfixtures.MustPSTDir(t), throttleFixture)
	src, err := OpenPST(path, 0, convert.Options{Owner: groupware.Person{Email: "alice@example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(folders, func(i, j int) bool { return folders[i].Count > folders[j].Count })
	sf := folders[0]
	if sf.Count < 60 {
		t.Fatalf("largest folder %q holds only %d items", sf.Key, sf.Count)
	}
	refs := func(span Span, cp FolderCheckpoint) []string {
		var out []string
		err := src.Items(ctx, sf, span, cp, nil, func(it *Item) error {
			if it.Pos != cp.Done+len(out) {
				t.Errorf("span %+v: item %s at position %d, want %d", span, it.Ref, it.Pos, cp.Done+len(out))
			}
			out = append(out, it.Ref)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	whole := refs(Span{}, FolderCheckpoint{})
	spans, err := src.Split(ctx, sf, []int{20, 25, sf.Count - 45})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Span{{0, 20}, {20, 45}, {45, 0}}; !slices.Equal(spans, want) {
		t.Fatalf("spans %v, want %v", spans, want)
	}
	var joined []string
	for _, sp := range spans {
		joined = append(joined, refs(sp, FolderCheckpoint{})...)
	}
	if !slices.Equal(joined, whole) {
		t.Errorf("the spans read %d items %v…, the folder %d %v…", len(joined), joined[:3], len(whole), whole[:3])
	}
	if got := refs(spans[1], FolderCheckpoint{Done: 5}); !slices.Equal(got, whole[25:45]) {
		t.Errorf("span 2 from its 5th item: %v, want %v", got, whole[25:45])
	}
}

// segmentTwins are the offsets, within each of the segments of splitSource, of messages that share one
// Message-ID across segments (the same message received several times): the segments reach them at about
// the same moment, and the target must still get one copy.
var segmentTwins = []int{10, 50, 100, 200}

// splitSource fills alice with "Big" (n messages, which the engine cuts into segments of 325 when "Small"
// with its 100 messages is copied beside it on four connections) and "Small". Message i of Big has the
// Message-ID <tag-i@seg.example>, except the twins, which share that of their offset in the first segment.
func splitSource(t *testing.T, a account, n, from int, tag string) {
	t.Helper()
	c := a.bulk(t)
	ctx := context.Background()
	for _, f := range []string{"Big", "Small"} {
		if from == 0 {
			if err := c.Create(ctx, f, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	msg := func(folder string, i int) imapbulk.Message {
		id := fmt.Sprintf("%s-%d", tag, i)
		// A twin is the same message received again: its header is its first copy's, its arrival its own.
		h := i
		if folder == "Big" && i >= 325 && slices.Contains(segmentTwins, i%325) {
			id = fmt.Sprintf("%s-%d", tag, i%325)
			h = i % 325
		}
		date := time.Date(2022, 3, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
		sent := time.Date(2022, 3, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour)
		var flags []string
		if i%3 != 0 {
			flags = append(flags, `\Seen`)
		}
		if i%11 == 0 {
			flags = append(flags, "$work")
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: Sender <s%d@example.org>\r\nTo: alice@example.test\r\nSubject: %s %s %d\r\nDate: %s\r\nMessage-ID: <%s@seg.example>\r\n\r\n",
			h%13, folder, tag, h, sent.Format(time.RFC1123Z), id)
		for b.Len() < 600+(i%17)*200 {
			b.WriteString("Segmente, die gleichzeitig kopiert werden.\r\n")
		}
		return imapbulk.Message{Flags: flags, Date: date, Size: int64(b.Len()), Body: bytes.NewReader(b.Bytes())}
	}
	for folder, count := range map[string]int{"Big": n, "Small": 100} {
		var msgs []imapbulk.Message
		for i := from; i < count; i++ {
			msgs = append(msgs, msg(folder, i))
		}
		for len(msgs) > 0 {
			k := min(len(msgs), 200)
			res, err := c.Append(ctx, folder, msgs[:k])
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

// exactlyOnce compares a source and a target folder: every Message-ID of the source is on the target once,
// with the flags, internal date and size of (one of) the source's messages with that Message-ID, and the
// target holds nothing else. It returns the target's Message-IDs in UID order.
func exactlyOnce(t *testing.T, src, dst *imapbulk.Conn, folder string) []string {
	t.Helper()
	state := func(m imapbulk.Identity) string {
		flags := sourceFlags(m.Flags)
		for i := range flags {
			flags[i] = strings.ToLower(flags[i])
		}
		sort.Strings(flags)
		return fmt.Sprintf("%v %s %d", flags, m.InternalDate.UTC().Format(time.RFC3339), m.Size)
	}
	want := map[string][]string{}
	for _, m := range contents(t, src, folder) {
		id := msgid.Normalize(m.MessageID)
		want[id] = append(want[id], state(m))
	}
	got := contents(t, dst, folder)
	sort.Slice(got, func(i, j int) bool { return got[i].UID < got[j].UID })
	seen := map[string]bool{}
	var order []string
	for _, m := range got {
		id := msgid.Normalize(m.MessageID)
		order = append(order, id)
		switch {
		case seen[id]:
			t.Errorf("%s: %s is on the target twice", folder, id)
		case want[id] == nil:
			t.Errorf("%s: %s is on the target, not on the source", folder, id)
		case !slices.Contains(want[id], state(m)):
			t.Errorf("%s: %s is %q on the target, %q on the source", folder, id, state(m), want[id])
		}
		seen[id] = true
	}
	if len(seen) != len(want) {
		t.Errorf("%s: %d of the source's %d Message-IDs on the target", folder, len(seen), len(want))
	}
	return order
}

// sourceOrder is the folder's Message-IDs in UID order, each once (its first occurrence).
func sourceOrder(t *testing.T, c *imapbulk.Conn, folder string) []string {
	msgs := contents(t, c, folder)
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	seen := map[string]bool{}
	var out []string
	for _, m := range msgs {
		if id := msgid.Normalize(m.MessageID); !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func runIMAP(t *testing.T, src, dst account, mutate func(*Job)) *Report {
	t.Helper()
	s, err := OpenIMAP(context.Background(), src.ep, imapconn.Credentials{Login: src.cred.Login, Password: src.cred.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	job := Job{Source: s, Target: dst.target(""), Rules: foldermap.Rules{Include: []string{"Big", "Small"}}}
	if mutate != nil {
		mutate(&job)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Failed > 0 {
		t.Fatalf("%d failed: %+v", rep.Totals.Failed, rep.Failed)
	}
	checkTotals(t, rep)
	return rep
}

// TestSegmentedFolder copies a folder that is cut into four segments copied at once (Dovecot to Dovecot):
// every message lands exactly once, with its flags and date, even those whose Message-ID recurs in every
// segment at the same offset; each segment keeps its own checkpoint; a second pass copies nothing, and a
// delta pass copies the new messages and carries flag changes over.
func TestSegmentedFolder(t *testing.T) {
	srv := testserver.Dovecot(t)
	src, dst := accountOf(srv, "alice"), accountOf(srv, "bob")
	const n = 1200
	splitSource(t, src, n, 0, "s")
	cpPath := filepath.Join(t.TempDir(), "cp.json")
	cp := FileCheckpoint{Path: cpPath}
	// Paced (1,500 messages a second over all connections), so that the segments are under way together
	// however fast the server answers: their interleaving on the target is what shows it below.
	rep := runIMAP(t, src, dst, func(j *Job) { j.Checkpoints, j.RateMessages = cp, 1500 })
	unique := n - 3*len(segmentTwins)
	if rep.Totals.Copied != int64(unique+100) || rep.Totals.Duplicates != int64(3*len(segmentTwins)) {
		t.Errorf("copied %d, present %d; want %d copied and the %d repeated Message-IDs present", rep.Totals.Copied, rep.Totals.Duplicates, unique+100, 3*len(segmentTwins))
	}
	sc, dc := src.bulk(t), dst.bulk(t)
	order := exactlyOnce(t, sc, dc, "Big")
	exactlyOnce(t, sc, dc, "Small")
	saved, err := cp.Load(context.Background())
	if err != nil || saved == nil {
		t.Fatalf("checkpoint: %v", err)
	}
	big := saved.Folders["Big"]
	if big == nil || len(big.Segments) != 4 || !big.Complete || big.Done != n {
		t.Fatalf("checkpoint of Big: %+v, want four segments, complete, %d done", big, n)
	}
	for i, s := range big.Segments {
		if !s.Complete || s.Done != s.Items || (i < 3) != (s.To != 0) {
			t.Errorf("segment %d: %+v, want complete with all its items done, open-ended only the last", i, s)
		}
	}
	if len(saved.Folders["Small"].Segments) != 0 {
		t.Errorf("Small (100 items) was cut: %+v", saved.Folders["Small"])
	}
	// Segments copied at once interleave on the target (which is why KeepOrder exists).
	if slices.Equal(order, sourceOrder(t, sc, "Big")) {
		t.Error("the target holds Big in source order: the segments were not copied at once")
	}

	if again := runIMAP(t, src, dst, func(j *Job) { j.Checkpoints = cp }); again.Totals.Copied != 0 {
		t.Errorf("a second pass copied %d", again.Totals.Copied)
	}
	// Delta: 40 new messages in Big (after the last segment) and changed flags.
	splitSource(t, src, n+40, n, "s")
	changed := 0
	msgs := contents(t, sc, "Big") // selects read-only: before the SELECT that STORE needs
	if _, err := sc.Select(context.Background(), "Big", false); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if i%150 == 5 {
			if err := sc.Store(context.Background(), fmt.Sprint(m.UID), "+FLAGS", []string{`\Flagged`}); err != nil {
				t.Fatal(err)
			}
			if i < n {
				changed++ // the new ones are copied with their flags: not an update
			}
		}
	}
	delta := runIMAP(t, src, dst, func(j *Job) { j.Checkpoints = cp })
	if delta.Totals.Copied != 40 || delta.Totals.FlagUpdates != int64(changed) {
		t.Errorf("delta: copied %d, updated flags of %d; want 40 and %d", delta.Totals.Copied, delta.Totals.FlagUpdates, changed)
	}
	exactlyOnce(t, sc, dc, "Big")
}

// TestKeepOrder: with KeepOrder the same folder is not cut, and the target's UID order is the source's.
func TestKeepOrder(t *testing.T) {
	srv := testserver.Dovecot(t)
	src, dst := accountOf(srv, "alice"), accountOf(srv, "carol")
	splitSource(t, src, 1200, 0, "k")
	cp := FileCheckpoint{Path: filepath.Join(t.TempDir(), "cp.json")}
	runIMAP(t, src, dst, func(j *Job) { j.KeepOrder, j.Checkpoints = true, cp })
	sc, dc := src.bulk(t), dst.bulk(t)
	got := exactlyOnce(t, sc, dc, "Big")
	if want := sourceOrder(t, sc, "Big"); !slices.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Errorf("target order differs from the source's from position %d on (%d and %d messages)", i, len(got), len(want))
	}
	if saved, _ := cp.Load(context.Background()); saved == nil || len(saved.Folders["Big"].Segments) != 0 {
		t.Errorf("KeepOrder: Big was cut: %+v", saved)
	}
}

// TestCheckpointVersion1: a checkpoint written before segments existed is used as it is.
func TestCheckpointVersion1(t *testing.T) {
	v1 := &Checkpoint{Version: 1, Folders: map[string]*FolderCheckpoint{"INBOX": {Done: 7, LastUID: 9, Target: "INBOX", Complete: true}}}
	r := &run{job: Job{Source: &PSTSource{path: "x.pst"}, Checkpoints: memCheckpoint{v1}}}
	v1.Job = r.jobKey()
	if err := r.loadCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.cps.folder("INBOX"); got.Done != 7 || got.LastUID != 9 || !got.Complete || r.cps.cp.Version != checkpointVersion {
		t.Errorf("version-1 checkpoint read as %+v (version %d)", got, r.cps.cp.Version)
	}
}

// memCheckpoint is a CheckpointStore in memory.
type memCheckpoint struct{ cp *Checkpoint }

func (m memCheckpoint) Load(context.Context) (*Checkpoint, error) { return m.cp, nil }
func (m memCheckpoint) Save(context.Context, *Checkpoint) error   { return nil }
