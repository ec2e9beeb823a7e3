package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const serverName = "bench-dovecot"

// kinds are the mailshift kinds a run applies, in the order they are applied and reported.
var kinds = []string{"MailServer", "Mailbox", "FolderShare", "FreeBusyPublication", "SyncPolicy"}

func object(kind, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: "mailshift.io", Version: "v1", Kind: kind})
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// manifests are the run's objects: one MailServer with admin credentials (FolderShares subscribe grantees
// through it), a Mailbox per user with its own password Secret, FolderShares of Mailbox i's Calendar with the
// next user (read-only), FreeBusyPublications of the first users' calendars over FTP, and SyncPolicies
// keeping the first users' INBOX in step with a folder of the next user, two-way, every resync period.
func (b *bench) manifests() []client.Object {
	resync := b.cfg.resync.String()
	objs := []client.Object{object("MailServer", serverName, map[string]any{
		"host": "127.0.0.1", "port": int64(b.imapPort), "tls": "STARTTLS", "flavor": "dovecot",
		"caBundle":      map[string]any{"name": "imap-ca", "key": "ca.crt"},
		"checkInterval": resync,
		"admin":         map[string]any{"secretRef": map[string]any{"name": "imap-admin"}, "verifyLogin": login(1)},
	})}
	n := b.cfg.mailboxes
	for i := 1; i <= n; i++ {
		objs = append(objs, object("Mailbox", login(i), map[string]any{
			"serverRef": map[string]any{"name": serverName}, "login": login(i), "address": login(i) + "@example.test",
			"credentialsSecretRef": map[string]any{"name": login(i) + "-imap"},
			"specialFolders":       map[string]any{"placement": "Auto", "annotations": "Kolab3"},
			"checkInterval":        resync,
		}))
	}
	for s := 0; s < b.cfg.shares; s++ {
		owner, grantee := s%n+1, (s+1)%n+1
		objs = append(objs, object("FolderShare", fmt.Sprintf("%s-calendar-%d", login(owner), s/n), map[string]any{
			"mailboxRef": map[string]any{"name": login(owner)}, "specialFolder": "Calendar", "mode": "Merge",
			"grants":         []any{map[string]any{"grantee": login(grantee), "preset": "ReadOnly"}},
			"resyncInterval": resync,
		}))
	}
	for i := 1; i <= b.cfg.publications; i++ {
		objs = append(objs, object("FreeBusyPublication", login(i), map[string]any{
			"mailboxRef": map[string]any{"name": login(i)},
			"window":     map[string]any{"daysBack": int64(7), "daysAhead": int64(60)},
			"interval":   resync, "changeCheckInterval": resync,
			"ftp": map[string]any{"host": "127.0.0.1", "port": int64(b.ftpPort), "tls": "Explicit",
				"caBundle":             map[string]any{"name": "ftp-ca", "key": "ca.crt"},
				"credentialsSecretRef": map[string]any{"name": "ftp"}},
		}))
	}
	for i := 1; i <= b.cfg.policies; i++ {
		objs = append(objs, object("SyncPolicy", login(i), map[string]any{
			"sourceRef": map[string]any{"name": login(i)}, "targetRef": map[string]any{"name": login(i%n + 1)},
			"direction": "TwoWay", "interval": resync,
			"folders": []any{map[string]any{"source": "INBOX", "target": "from-" + login(i)}},
		}))
	}
	return objs
}

func (b *bench) applyObjects(ctx context.Context) error {
	return createAll(ctx, b.client, b.manifests())
}

// createAll creates objs with a few requests in flight, as a GitOps tool applying a directory would.
func createAll(ctx context.Context, c client.Client, objs []client.Object) error {
	const inFlight = 16
	work := make(chan client.Object)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				if err := c.Create(ctx, o); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("create %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, o := range objs {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		work <- o
	}
	close(work)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// notReady counts, per kind, the objects that are not Ready, by the reason of their Ready condition
// ("NoCondition" when they have none yet).
type notReady map[string]map[string]int

func countNotReady(n notReady) int {
	total := 0
	for _, reasons := range n {
		for _, c := range reasons {
			total += c
		}
	}
	return total
}

func (n notReady) String() string {
	var parts []string
	for _, kind := range kinds {
		reasons := n[kind]
		if len(reasons) == 0 {
			continue
		}
		var rs []string
		for r, c := range reasons {
			rs = append(rs, fmt.Sprintf("%s %d", r, c))
		}
		sort.Strings(rs)
		parts = append(parts, fmt.Sprintf("%s: %s", kind, strings.Join(rs, ", ")))
	}
	return strings.Join(parts, "; ")
}

// countNotReadyNow lists every kind and counts the objects whose Ready condition is not True.
func (b *bench) countNotReadyNow(ctx context.Context) (notReady, error) {
	out := notReady{}
	for _, kind := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: "mailshift.io", Version: "v1", Kind: kind + "List"})
		if err := b.client.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return nil, fmt.Errorf("list %s: %w", kind, err)
		}
		for _, item := range list.Items {
			status, reason := readyCondition(item)
			if status == "True" {
				continue
			}
			if out[kind] == nil {
				out[kind] = map[string]int{}
			}
			out[kind][reason]++
		}
	}
	return out, nil
}

// readyCondition returns the status and reason of item's Ready condition, or "", "NoCondition".
func readyCondition(item unstructured.Unstructured) (status, reason string) {
	conds, _, _ := unstructured.NestedSlice(item.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Ready" {
			continue
		}
		s, _ := m["status"].(string)
		r, _ := m["reason"].(string)
		return s, r
	}
	return "", "NoCondition"
}

// waitReady polls until every object is Ready, printing progress, or timeout passes; then it returns what
// is still not Ready.
func (b *bench) waitReady(ctx context.Context, since time.Time, timeout time.Duration) (notReady, error) {
	deadline := since.Add(timeout)
	lastPrint := time.Time{}
	for {
		n, err := b.countNotReadyNow(ctx)
		if err == nil && countNotReady(n) == 0 {
			fmt.Printf("    all %d objects Ready after %s\n", b.cfg.objects(), time.Since(since).Round(100*time.Millisecond))
			return nil, nil
		}
		if err == nil && time.Since(lastPrint) >= 10*time.Second {
			fmt.Printf("    %s: %d of %d not Ready (%s)\n", time.Since(since).Round(time.Second), countNotReady(n),
				b.cfg.objects(), n)
			lastPrint = time.Now()
		}
		if time.Now().After(deadline) {
			return n, err
		}
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
