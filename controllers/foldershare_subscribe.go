package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/acl"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
)

// A folder shared with someone only shows up in their folder list once they subscribe to it; the old
// connector did that for them. A FolderShare does it by logging in as each login grantee through the
// MailServer's admin credentials, once per grantee and folder: a grantee who later unsubscribes by hand is
// not subscribed again, and a resync does not log in as anyone.

// subscribeBudget bounds the subscription work of one reconcile; what is left over is done by the next.
const subscribeBudget = time.Minute

// subscriptionKey names one grantee's subscription to one shared folder (the owner's name of it).
type subscriptionKey struct{ grantee, folder string }

// subscribable says whether an identifier is one account that can be subscribed: not "anyone",
// "authenticated", a group, negative rights, or the owner (whose own folder it is).
func subscribable(id, owner string) bool {
	return id != owner && id != acl.Anyone && id != acl.Authenticated && !acl.IsGroup(id) && !acl.IsNegative(id)
}

// syncSubscriptions subscribes every login grantee to the shared folders, unsubscribes the subscriptions
// this FolderShare made for grants it no longer has, and reports the result in the Subscribed condition.
// Failures never fail the share: the grant works, and the condition says who is not subscribed and why.
func (r *FolderShareReconciler) syncSubscriptions(ctx context.Context, share *mailshiftv1.FolderShare, target *mailboxTarget, folders []string, desired map[string]acl.Set) {
	ctx, cancel := context.WithTimeout(ctx, subscribeBudget)
	defer cancel()
	owner := target.creds.Login
	wanted := map[subscriptionKey]bool{}
	for id := range desired {
		if subscribable(id, owner) {
			for _, f := range folders {
				wanted[subscriptionKey{id, f}] = true
			}
		}
	}
	var kept []mailshiftv1.GranteeSubscription
	toUnsubscribe := map[string][]mailshiftv1.GranteeSubscription{}
	done := map[subscriptionKey]bool{}
	for _, sub := range share.Status.Subscriptions {
		k := subscriptionKey{sub.Grantee, sub.Folder}
		done[k] = true
		switch {
		case wanted[k]:
			kept = append(kept, sub)
		case sub.ByShare:
			toUnsubscribe[sub.Grantee] = append(toUnsubscribe[sub.Grantee], sub)
		}
	}
	toSubscribe := map[string][]string{}
	for k := range wanted {
		if !done[k] {
			toSubscribe[k.grantee] = append(toSubscribe[k.grantee], k.folder)
		}
	}
	involved := map[string]bool{}
	for g := range toSubscribe {
		involved[g] = true
	}
	for g := range toUnsubscribe {
		involved[g] = true
	}
	grantees := slices.Sorted(maps.Keys(involved))

	var problems []string
	serverDown := ""
	for _, g := range grantees {
		if serverDown != "" {
			problems = append(problems, fmt.Sprintf("%s: not tried, %s", g, serverDown))
			kept = append(kept, toUnsubscribe[g]...)
			continue
		}
		s, problem, down := r.granteeSession(ctx, share, target, g)
		if problem != "" {
			problems = append(problems, fmt.Sprintf("%s: %s", g, problem))
			kept = append(kept, toUnsubscribe[g]...)
			if down {
				serverDown = problem
			}
			continue
		}
		for _, sub := range toUnsubscribe[g] {
			if err := unsubscribe(ctx, s, sub.Mailbox); err != nil {
				problems = append(problems, fmt.Sprintf("%s: unsubscribe %s: %s", g, sub.Mailbox, err))
				kept = append(kept, sub)
			}
		}
		slices.Sort(toSubscribe[g])
		for _, f := range toSubscribe[g] {
			sub, err := subscribe(ctx, s, owner, g, f)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s", g, err))
				continue
			}
			kept = append(kept, sub)
		}
		_ = s.Close()
	}
	slices.SortFunc(kept, func(a, b mailshiftv1.GranteeSubscription) int {
		return strings.Compare(a.Grantee+"\x00"+a.Folder, b.Grantee+"\x00"+b.Folder)
	})
	share.Status.Subscriptions = kept
	r.setSubscribedCondition(share, len(wanted), problems)
}

// subscribe subscribes the session's user to owner's folder under the name the user sees it by, and
// records whether the user had subscribed already.
func subscribe(ctx context.Context, s *imapsession.Session, owner, grantee, folder string) (mailshiftv1.GranteeSubscription, error) {
	name, err := s.OtherUsersMailbox(ctx, owner, folder)
	if err != nil {
		return mailshiftv1.GranteeSubscription{}, err
	}
	already, err := s.IsSubscribed(ctx, name)
	if err != nil && imapconn.KindOf(err) != imapconn.NotSupported {
		return mailshiftv1.GranteeSubscription{}, err
	}
	if !already {
		// Without LIST (SUBSCRIBED) an earlier subscription cannot be told apart: it counts as ours.
		if err := s.Subscribe(ctx, name); err != nil {
			return mailshiftv1.GranteeSubscription{}, err
		}
	}
	return mailshiftv1.GranteeSubscription{Grantee: grantee, Folder: folder, Mailbox: name, ByShare: !already}, nil
}

// unsubscribe removes one subscription; one that is already gone is fine (servers differ in answering
// UNSUBSCRIBE for a name not subscribed).
func unsubscribe(ctx context.Context, s *imapsession.Session, mailbox string) error {
	err := s.Unsubscribe(ctx, mailbox)
	if err == nil {
		return nil
	}
	if still, lerr := s.IsSubscribed(ctx, mailbox); lerr == nil && !still {
		return nil
	}
	return err
}

// granteeSession logs in as a grantee through the MailServer's admin credentials. problem says why that is
// not possible, in words for status; down is true when the server itself could not be reached, so that the
// other grantees are not tried one timeout after another.
func (r *FolderShareReconciler) granteeSession(ctx context.Context, share *mailshiftv1.FolderShare, target *mailboxTarget, grantee string) (s *imapsession.Session, problem string, down bool) {
	srv := target.server
	login, password, ok, err := adminCredentials(ctx, r.Client, srv)
	if err != nil {
		return nil, outcomeOf(err).message, false
	}
	if !ok {
		return nil, fmt.Sprintf("MailServer %s/%s has no admin credentials to act as the grantee; the grantee can subscribe by hand", srv.Namespace, srv.Name), false
	}
	if why := impersonationDenied(srv, share.Namespace, grantee); why != "" {
		return nil, why, false
	}
	t := &mailboxTarget{server: srv, endpoint: target.endpoint, authAs: "admin", creds: imapconn.Credentials{
		Login: grantee, AdminLogin: login, AdminPassword: password, Flavor: string(srv.Spec.Flavor),
	}}
	s, err = t.dial(ctx)
	if err != nil {
		k := imapconn.KindOf(err)
		return nil, "log in as the grantee: " + outcomeOf(err).message, k == imapconn.Unreachable || k == imapconn.Timeout || k == imapconn.TLSFailed
	}
	return s, "", false
}

// setSubscribedCondition reports the subscriptions, with a Warning Event when grantees stop being
// subscribed.
func (r *FolderShareReconciler) setSubscribedCondition(share *mailshiftv1.FolderShare, wanted int, problems []string) {
	c := metav1.Condition{
		Type: mailshiftv1.ConditionSubscribed, Status: metav1.ConditionTrue, Reason: mailshiftv1.ReasonGranteesSubscribed,
		Message: fmt.Sprintf("grantees subscribed to %s", plural(wanted, "shared folder")), ObservedGeneration: share.Generation,
	}
	if wanted == 0 {
		c.Message = "no login grantee to subscribe (anyone, authenticated and groups are not subscribed)"
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		c.Status, c.Reason = metav1.ConditionFalse, mailshiftv1.ReasonGranteeNotSubscribed
		c.Message = "not subscribed: " + strings.Join(problems, "; ")
	}
	prev := meta.FindStatusCondition(share.Status.Conditions, mailshiftv1.ConditionSubscribed)
	if r.Recorder != nil && c.Status == metav1.ConditionFalse && (prev == nil || prev.Reason != c.Reason) {
		r.Recorder.Eventf(share, nil, "Warning", c.Reason, "Subscribe", "%s", c.Message)
	}
	meta.SetStatusCondition(&share.Status.Conditions, c)
}

// unsubscribeAll takes back every subscription this FolderShare made, as it is deleted. It is best effort:
// a subscription left behind only names a folder the grantee no longer sees, so a failure is reported in a
// Warning Event and does not hold the deletion.
func (r *FolderShareReconciler) unsubscribeAll(ctx context.Context, share *mailshiftv1.FolderShare, target *mailboxTarget) {
	ctx, cancel := context.WithTimeout(ctx, subscribeBudget)
	defer cancel()
	byGrantee := map[string][]string{}
	for _, sub := range share.Status.Subscriptions {
		if sub.ByShare {
			byGrantee[sub.Grantee] = append(byGrantee[sub.Grantee], sub.Mailbox)
		}
	}
	warn := func(format string, args ...any) {
		if r.Recorder != nil {
			r.Recorder.Eventf(share, nil, "Warning", mailshiftv1.ReasonGranteeNotSubscribed, "Unsubscribe", format, args...)
		}
	}
	for _, g := range slices.Sorted(maps.Keys(byGrantee)) {
		s, problem, down := r.granteeSession(ctx, share, target, g)
		if problem != "" {
			warn("%s stays subscribed to %s: %s", g, strings.Join(byGrantee[g], ", "), problem)
			if down {
				return
			}
			continue
		}
		for _, mbx := range byGrantee[g] {
			if err := unsubscribe(ctx, s, mbx); err != nil {
				warn("%s stays subscribed to %s: %s", g, mbx, err)
			}
		}
		_ = s.Close()
	}
}
