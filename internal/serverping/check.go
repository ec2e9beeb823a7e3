// Package serverping is the "Ping Server" check: connect (TCP, TLS or STARTTLS), log in, read the
// capabilities, the namespaces and the folder listing, and the quota. `mailshift ping` and the Outlook
// connector's Ping Server button both run it, so a desk and an admin's terminal see the same result.
package serverping

import (
	"context"
	"time"

	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
)

// Steps a check can fail at, in the words the results are reported in.
const (
	StepLogin      = "logging in"
	StepNamespaces = "reading the namespaces"
	StepFolders    = "listing the folders"
)

// Result is what a check found. When Err is set, Failed names the step that failed and the fields of the
// steps before it are filled in.
type Result struct {
	LoginTime    time.Duration
	Capabilities []string
	Namespaces   imapconn.Namespaces
	Folders      int
	Messages     int64
	Quota        []imapsession.QuotaResource
	// QuotaErr is informational: servers without QUOTA, or refusing it, still pass.
	QuotaErr error

	Failed string
	Err    error
}

// OK reports whether every step passed.
func (r *Result) OK() bool { return r.Err == nil }

// Kind is the failure's classification (imapconn.AuthenticationFailed, Unreachable, ...), "" when OK.
func (r *Result) Kind() imapconn.Kind { return imapconn.KindOf(r.Err) }

// Check runs the check against one account. The login alone proves little: a mailbox whose folders cannot be
// listed is not working, so the namespaces and the listing must succeed too.
func Check(ctx context.Context, ep imapconn.Endpoint, cred imapconn.Credentials) *Result {
	r := &Result{}
	start := time.Now()
	s, err := imapsession.Dial(ctx, ep, cred)
	if err != nil {
		r.Failed, r.Err = StepLogin, err
		return r
	}
	defer s.Close()
	r.LoginTime, r.Capabilities = time.Since(start), s.Capabilities()
	if r.Namespaces, err = s.Namespaces(ctx); err != nil {
		r.Failed, r.Err = StepNamespaces, err
		return r
	}
	if r.Folders, r.Messages, err = s.Count(ctx); err != nil {
		r.Failed, r.Err = StepFolders, err
		return r
	}
	r.Quota, r.QuotaErr = s.Quota(ctx)
	return r
}
