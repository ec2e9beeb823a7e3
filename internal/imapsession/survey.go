package imapsession

import (
	"context"

	"github.com/mailshift/mailshift/internal/imapconn"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Survey is what a client reads of an account before it changes anything in it.
type Survey struct {
	Namespaces imapconn.Namespaces
	// ID is the server's identification (RFC 2971); nil when it has no ID.
	ID map[string]string
	// Folders are the folders of the personal namespace, sorted by name, with special-use attributes
	// (see Folders).
	Folders []imapconn.Folder
	// Subscribed names the subscribed folders; nil when the server cannot say in one LIST (no
	// LIST-EXTENDED; go-imap v2 has no LSUB): callers then subscribe unconditionally.
	Subscribed map[string]bool
}

// Survey reads the namespaces, the identification, the personal folders and the subscriptions with their
// commands pipelined: one round trip, where one command after another costs four, which over a wide-area
// link is a good part of the setup of a small migration.
func (s *Session) Survey(ctx context.Context) (Survey, error) {
	var sv Survey
	ns, haveNS := s.cachedNamespaces()
	err := s.do(ctx, "survey folders", func(c *imapclient.Client) error {
		// Every command goes out before the first answer is waited for.
		var waitNS func() (imapconn.Namespaces, error)
		if !haveNS {
			waitNS = s.sendNamespaces(c)
		}
		var waitID func() (map[string]string, error)
		if s.Has("ID") {
			waitID = sendID(c)
		}
		waitList := sendList(c, "*", s.listOptions(nil))
		var waitSubscribed func() (map[string]bool, error)
		if s.Has("LIST-EXTENDED") {
			waitSubscribed = sendSubscribed(c)
		}
		// Each answer is waited for, even after an error, so that none is left unread.
		var first error
		keep := func(err error) {
			if first == nil {
				first = err
			}
		}
		var err error
		if waitNS != nil {
			ns, err = waitNS()
			keep(err)
		}
		if waitID != nil {
			// Only a hint (which server this is): a refusal of ID is not an error of the survey.
			sv.ID, _ = waitID()
		}
		all, err := waitList()
		keep(err)
		if waitSubscribed != nil {
			sv.Subscribed, err = waitSubscribed()
			keep(err)
		}
		for _, f := range all {
			if ns.IsPersonal(f.Name) {
				sv.Folders = append(sv.Folders, f)
			}
		}
		return first
	})
	if err != nil {
		return Survey{}, err
	}
	if !haveNS {
		s.cacheNamespaces(ns)
	}
	sv.Namespaces = ns
	return sv, nil
}
