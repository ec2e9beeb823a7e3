package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/msgid"
)

// The sync benchmark's helpers (hack/bench-sync.sh): changes made as a mailbox's user would, and a digest
// that says whether two accounts hold the same.

// cmdMutate changes an account as its user would: in the folders that hold mail, -new new messages, -flags
// flag changes (\Flagged set, or \Seen cleared) and -delete deletions (expunged), spread over the folders,
// chosen by -seed. New messages get Message-IDs of their own (<TAG-new-I@bench.test>).
func cmdMutate(args []string) error {
	fs := flag.NewFlagSet("mutate", flag.ExitOnError)
	seed := fs.Uint64("seed", 1, "which messages change")
	tag := fs.String("tag", "m", "prefix of the new messages' Message-IDs")
	nNew := fs.Int("new", 20, "new messages")
	nFlags := fs.Int("flags", 20, "flag changes")
	nDel := fs.Int("delete", 10, "deletions")
	s, err := open(fs, args, 5*time.Minute)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, c := s.ctx, s.c
	r := rand.New(rand.NewPCG(*seed, 7))
	var folders []string
	uids := map[string][]uint32{}
	for _, f := range s.list {
		if !f.Selectable() {
			continue
		}
		if _, err := c.Select(ctx, f.Name, false); err != nil {
			return err
		}
		u, err := c.UIDSearch(ctx, "ALL")
		if err != nil {
			return err
		}
		if len(u) > 0 {
			folders = append(folders, f.Name)
			uids[f.Name] = u
		}
	}
	if len(folders) == 0 {
		return fmt.Errorf("%s holds no mail to change", s.a.user)
	}
	slices.Sort(folders)
	// pick takes a message no other change of this run took.
	pick := func(i int) (string, uint32) {
		f := folders[i%len(folders)]
		u := uids[f]
		j := r.IntN(len(u))
		uid := u[j]
		uids[f] = slices.Delete(u, j, j+1)
		if len(uids[f]) == 0 {
			folders = slices.DeleteFunc(folders, func(x string) bool { return x == f })
		}
		return f, uid
	}
	for i := range *nFlags {
		f, uid := pick(i)
		if _, err := c.Select(ctx, f, false); err != nil {
			return err
		}
		op, flag := "+FLAGS", `\Flagged`
		if i%2 == 1 {
			op, flag = "-FLAGS", `\Seen`
		}
		if err := c.Store(ctx, fmt.Sprint(uid), op, []string{flag}); err != nil {
			return err
		}
	}
	for i := range *nDel {
		f, uid := pick(i)
		if _, err := c.Select(ctx, f, false); err != nil {
			return err
		}
		if err := c.Store(ctx, fmt.Sprint(uid), "+FLAGS", []string{`\Deleted`}); err != nil {
			return err
		}
		if err := c.Expunge(ctx, fmt.Sprint(uid)); err != nil {
			return err
		}
	}
	all := append([]string(nil), folders...)
	for i := range *nNew {
		body := fmt.Sprintf("From: bench@example.test\r\nTo: %s@example.test\r\nSubject: new %s %d\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n"+
			"Message-ID: <%s-new-%d@bench.test>\r\n\r\nA new message, %d.\r\n", s.a.user, *tag, i, *tag, i, i)
		res, err := c.Append(ctx, all[i%len(all)], []imapbulk.Message{{Size: int64(len(body)), Body: strings.NewReader(body)}})
		if err != nil {
			return err
		}
		if res[0].Err != nil {
			return res[0].Err
		}
	}
	return nil
}

// cmdDigest prints, per folder that holds mail, its message count and a hash of its messages' Message-IDs
// with their system flags (keywords left out: not every tool carries them): two accounts in step print the
// same lines.
func cmdDigest(args []string) error {
	s, err := open(flag.NewFlagSet("digest", flag.ExitOnError), args, 5*time.Minute)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, c := s.ctx, s.c
	var lines []string
	for _, f := range s.list {
		if !f.Selectable() {
			continue
		}
		st, err := c.Select(ctx, f.Name, true)
		if err != nil {
			return err
		}
		if st.Exists == 0 {
			continue
		}
		ids, err := c.FetchIdentities(ctx, "1:*", 0)
		if err != nil {
			return err
		}
		var entries []string
		for _, id := range ids {
			var sys []string
			for _, fl := range id.Flags {
				if strings.HasPrefix(fl, `\`) && !strings.EqualFold(fl, `\Recent`) {
					sys = append(sys, strings.ToLower(fl))
				}
			}
			slices.Sort(sys)
			entries = append(entries, msgid.Normalize(id.MessageID)+" "+strings.Join(sys, ","))
		}
		slices.Sort(entries)
		sum := sha256.Sum256([]byte(strings.Join(entries, "\n")))
		lines = append(lines, fmt.Sprintf("%s %d %s", f.Name, len(ids), hex.EncodeToString(sum[:8])))
	}
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))
	return nil
}
