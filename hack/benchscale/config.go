package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// config is what the environment asks of a run.
type config struct {
	mailboxes    int           // SCALE_MAILBOXES: Mailboxes, and Dovecot users
	shares       int           // SCALE_SHARES: FolderShares, each of one Mailbox's Calendar with the next user
	publications int           // SCALE_PUBLICATIONS: FreeBusyPublications, of the first Mailboxes
	policies     int           // SCALE_POLICIES: SyncPolicies, each from Mailbox i's INBOX to a folder of the next user
	window       time.Duration // SCALE_WINDOW: the steady-state measurement
	resync       time.Duration // SCALE_RESYNC: every object's own check/resync period
	readyTimeout time.Duration // SCALE_READY_TIMEOUT: how long all objects may take to become Ready
	keep         bool          // SCALE_KEEP=1 keeps the work directory (logs, Dovecot's log, kubeconfig)
	manager      string        // SCALE_MANAGER: a manager binary to measure instead of one built from this tree
}

// Limits that keep a run on one machine: every user is a directory in Dovecot's home tree, every object a
// watch event in the manager.
const (
	maxMailboxes    = 20000
	maxShares       = 20000
	maxPublications = 5000
	maxPolicies     = 20000
)

func configFromEnv(getenv func(string) string) (config, error) {
	c := config{}
	var err error
	ints := []struct {
		key      string
		dst      *int
		def, max int
		min      int
	}{
		{"SCALE_MAILBOXES", &c.mailboxes, 1000, maxMailboxes, 2},
		{"SCALE_SHARES", &c.shares, 1000, maxShares, 0},
		{"SCALE_PUBLICATIONS", &c.publications, 200, maxPublications, 0},
		{"SCALE_POLICIES", &c.policies, 0, maxPolicies, 0},
	}
	for _, p := range ints {
		if *p.dst, err = envInt(getenv, p.key, p.def, p.min, p.max); err != nil {
			return c, err
		}
	}
	durs := []struct {
		key      string
		dst      *time.Duration
		def, min time.Duration
		max      time.Duration
	}{
		{"SCALE_WINDOW", &c.window, 4 * time.Minute, 10 * time.Second, time.Hour},
		{"SCALE_RESYNC", &c.resync, 2 * time.Minute, 30 * time.Second, time.Hour},
		{"SCALE_READY_TIMEOUT", &c.readyTimeout, 5 * time.Minute, 10 * time.Second, time.Hour},
	}
	for _, p := range durs {
		if *p.dst, err = envDuration(getenv, p.key, p.def, p.min, p.max); err != nil {
			return c, err
		}
	}
	if c.publications > c.mailboxes {
		return c, fmt.Errorf("SCALE_PUBLICATIONS=%d exceeds SCALE_MAILBOXES=%d: each publication is of its own Mailbox",
			c.publications, c.mailboxes)
	}
	if c.policies > c.mailboxes {
		return c, fmt.Errorf("SCALE_POLICIES=%d exceeds SCALE_MAILBOXES=%d: each policy is from its own Mailbox", c.policies, c.mailboxes)
	}
	if c.policies > 0 && (c.resync < time.Minute || c.resync > 90*time.Minute || c.resync%time.Minute != 0) {
		return c, fmt.Errorf("SCALE_RESYNC=%s is every SyncPolicy's interval too: whole minutes from 1m to 90m", c.resync)
	}
	c.keep = getenv("SCALE_KEEP") == "1"
	if c.manager = getenv("SCALE_MANAGER"); c.manager != "" {
		if fi, err := os.Stat(c.manager); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return c, fmt.Errorf("SCALE_MANAGER=%q: not an executable file", c.manager)
		}
	}
	return c, nil
}

func envInt(getenv func(string) string, key string, def, lo, hi int) (int, error) {
	s := getenv(key)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s=%q: want a whole number from %d to %d", key, s, lo, hi)
	}
	return n, nil
}

func envDuration(getenv func(string) string, key string, def, lo, hi time.Duration) (time.Duration, error) {
	s := getenv(key)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < lo || d > hi {
		return 0, fmt.Errorf("%s=%q: want a duration from %s to %s (e.g. 3m)", key, s, lo, hi)
	}
	return d, nil
}

// objects is how many objects the run applies, the MailServer included: the login budget is per object,
// and a SyncPolicy counts twice (a cycle logs in to both sides, even when nothing changed).
func (c config) objects() int { return 1 + c.mailboxes + c.shares + c.publications + 2*c.policies }
