package mailsync

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Counts are what a cycle did on one side.
type Counts struct {
	Added    int `json:"added"`              // messages copied there (Restored among them)
	Restored int `json:"restored,omitempty"` // copied back there: a conflict the change won
	Updated  int `json:"updated,omitempty"`  // groupware objects replaced there by their new version
	Flags    int `json:"flags"`              // messages whose flags were set there
	Deleted  int `json:"deleted"`            // deleted or moved to the trash there
	Failed   int `json:"failed"`             // actions there that failed (see Failures)
	// Doubles are copies an interrupted cycle sent that the server stored after the next cycle had
	// copied the message again: removed there.
	Doubles int `json:"doubles,omitempty"`
}

func (c *Counts) add(o Counts) {
	c.Added += o.Added
	c.Restored += o.Restored
	c.Updated += o.Updated
	c.Flags += o.Flags
	c.Deleted += o.Deleted
	c.Failed += o.Failed
	c.Doubles += o.Doubles
}

// Failure is an item a cycle could not bring in step; the next cycle tries it again.
type Failure struct {
	Side   string `json:"side"` // the side the message is on: "A" (source) or "B" (target)
	UID    uint32 `json:"uid"`
	ID     string `json:"id,omitempty"` // its identity (Message-ID)
	Reason string `json:"reason"`
}

// FolderReport is a cycle of one folder pair.
type FolderReport struct {
	A string `json:"source"`
	B string `json:"target"`
	// ToB and ToA: what was done on the target (source changes carried over) and on the source.
	ToB       Counts `json:"toTarget"`
	ToA       Counts `json:"toSource"`
	Conflicts int    `json:"conflicts"`
	// Unchanged: neither side changed since the last cycle, so nothing was read.
	Unchanged bool `json:"unchanged,omitempty"`
	// SourceRights are the user's rights on side A's folder when they may not add to it (MYRIGHTS without
	// "i"): the pair ran one-way, and Refused lists what was removed from side B after a notice.
	SourceRights string        `json:"sourceRights,omitempty"`
	Refused      []RefusedItem `json:"refused,omitempty"`
	// Rematched names the sides found rebuilt (another UIDVALIDITY), whose messages were matched again.
	Rematched []string  `json:"rematched,omitempty"`
	Failures  []Failure `json:"failures,omitempty"`
	// Folder is what happened to the pair's folders: renamed or deleted on one side, and what followed on
	// the other (two-way; see follow.go).
	Folder string `json:"folder,omitempty"`
	// Error is why the pair could not be synced at all this cycle.
	Error string `json:"error,omitempty"`
}

func (r *FolderReport) counts(s Side) *Counts {
	if s == A {
		return &r.ToA
	}
	return &r.ToB
}

// fail records a failed action on message uid of side on (counted on the side it was to change).
func (r *FolderReport) fail(on Side, uid uint32, id string, err error) {
	r.Failures = append(r.Failures, Failure{Side: []string{"A", "B"}[on], UID: uid, ID: id, Reason: err.Error()})
	r.counts(on).Failed++
}

// Report is a cycle.
type Report struct {
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	Folders  []FolderReport `json:"folders"`
}

// Totals sums the folders' counts.
func (r *Report) Totals() (toB, toA Counts, conflicts int) {
	for _, f := range r.Folders {
		toB.add(f.ToB)
		toA.add(f.ToA)
		conflicts += f.Conflicts
	}
	return toB, toA, conflicts
}

// InStep says whether the cycle left nothing undone: no folder failed, no item failed.
func (r *Report) InStep() bool {
	for _, f := range r.Folders {
		if f.Error != "" || len(f.Failures) > 0 {
			return false
		}
	}
	return true
}

// Print writes the per-folder summary a person reads.
func (r *Report) Print(w io.Writer) {
	for _, f := range r.Folders {
		name := f.A
		if f.B != f.A {
			name = f.A + " = " + f.B
		}
		switch {
		case f.Error != "" && f.A == "":
			fmt.Fprintf(w, "  (not paired): %s\n", f.Error)
			continue
		case f.Error != "":
			fmt.Fprintf(w, "  %s: FAILED: %s\n", name, f.Error)
			continue
		case f.Unchanged && f.Folder == "":
			fmt.Fprintf(w, "  %s: unchanged\n", name)
			continue
		}
		var parts []string
		if f.Folder != "" {
			parts = append(parts, f.Folder)
		}
		for _, side := range []struct {
			label string
			c     Counts
		}{{"to target", f.ToB}, {"to source", f.ToA}} {
			if s := side.c.String(); s != "" {
				parts = append(parts, side.label+" "+s)
			}
		}
		if f.Conflicts > 0 {
			parts = append(parts, fmt.Sprintf("%d conflicts", f.Conflicts))
		}
		if f.SourceRights != "" {
			parts = append(parts, fmt.Sprintf("source read-only for this user (rights %q): one-way, %d added on the target removed after a notice in its INBOX", f.SourceRights, len(f.Refused)))
		}
		if len(f.Rematched) > 0 {
			parts = append(parts, "rebuilt on side "+strings.Join(f.Rematched, ", ")+": matched again by identity")
		}
		if len(parts) == 0 {
			parts = append(parts, "in step")
		}
		fmt.Fprintf(w, "  %s: %s\n", name, strings.Join(parts, "; "))
		for _, x := range f.Failures {
			fmt.Fprintf(w, "    failed: side %s UID %d %s: %s\n", x.Side, x.UID, x.ID, x.Reason)
		}
	}
	toB, toA, conflicts := r.Totals()
	fmt.Fprintf(w, "cycle: to target %s; to source %s; %d conflicts; %s\n", orNothing(toB.String()), orNothing(toA.String()), conflicts, r.Finished.Sub(r.Started).Round(time.Millisecond))
}

func (c Counts) String() string {
	var parts []string
	for _, x := range []struct {
		n    int
		what string
	}{{c.Added, "added"}, {c.Updated, "updated"}, {c.Flags, "flags"}, {c.Deleted, "deleted"}, {c.Doubles, "doubles removed"}, {c.Failed, "failed"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.what))
		}
	}
	return strings.Join(parts, ", ")
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
