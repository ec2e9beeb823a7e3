package calendarsource

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mailshift/mailshift/internal/freebusy"
	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
)

// Request says whose free/busy to compute and how.
type Request struct {
	Endpoint    imapconn.Endpoint
	Credentials imapconn.Credentials
	// Folders to read; empty: Discover them.
	Folders []string
	// FreeBusy holds the window, the reader's zone, the organizer and the stamp.
	FreeBusy freebusy.Options
	// UnlessToken, when not empty, makes Build stop after the change check if the folders' token still
	// equals it (Publication.Unchanged): a quiet calendar costs one STATUS per folder.
	UnlessToken string
	// Cache, when set, keeps parsed objects between builds so that only new messages are fetched.
	Cache *Cache
}

// Publication is a computed free/busy and what it was computed from.
type Publication struct {
	Folders []string
	Token   string
	// Unchanged: the token equalled Request.UnlessToken; nothing else is set.
	Unchanged bool

	Messages, NotCalendar, Events int
	// Fetched is how many messages came from the server rather than the cache.
	Fetched int
	// Unreadable describes every calendar object left out: messages that could not be parsed and events
	// whose recurrence could not be expanded. Never secret-bearing: they name folders, UIDs and summaries.
	Unreadable []string
	Periods    []freebusy.Period
	VFB        []byte
}

// Build connects, finds or takes the folders, checks their token, reads their events and computes the
// VFREEBUSY. Errors are *imapconn.Error values (or wrap them) with the folder named.
func Build(ctx context.Context, req Request) (*Publication, error) {
	pub := &Publication{Folders: req.Folders}
	c, err := imapbulk.Dial(ctx, req.Endpoint, req.Credentials)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if len(pub.Folders) == 0 {
		// Over the same connection: one login per build, discovery or not.
		if pub.Folders, err = Discover(ctx, c); err != nil {
			return nil, err
		}
	}
	if req.UnlessToken != "" {
		_, token, err := State(ctx, c, pub.Folders)
		if err != nil {
			return nil, err
		}
		if token == req.UnlessToken {
			return &Publication{Folders: pub.Folders, Token: token, Unchanged: true}, nil
		}
	}
	if req.Cache != nil {
		req.Cache.reset(req.Endpoint.Address() + "/" + req.Credentials.Login)
	}
	res, err := Read(ctx, c, pub.Folders, req.Cache)
	if err != nil {
		return nil, err
	}
	_ = c.Logout(ctx)
	if err := pub.compute(res, req.FreeBusy); err != nil {
		return nil, err
	}
	return pub, nil
}

// compute turns what Read found into the free/busy.
func (pub *Publication) compute(res *Result, opt freebusy.Options) error {
	pub.Token = res.Token
	pub.Messages, pub.NotCalendar, pub.Events, pub.Fetched = res.Messages, res.NotCalendar, len(res.Events), res.Fetched
	for _, p := range res.Problems {
		pub.Unreadable = append(pub.Unreadable, p.Error())
	}
	periods, problems := freebusy.Compute(res.Events, opt)
	for _, p := range problems {
		// Named by UID, not by summary: meeting titles can be private, and the list ends up in Events.
		pub.Unreadable = append(pub.Unreadable, fmt.Sprintf("event UID %s: %v", p.UID, p.Err))
	}
	pub.Periods = periods
	var buf bytes.Buffer
	if err := freebusy.Write(&buf, periods, opt); err != nil {
		return err
	}
	pub.VFB = buf.Bytes()
	return nil
}
