package migrationrun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/worker"
)

// FieldManager is the worker's server-side apply identity: it owns status.progress of its MailboxMigration,
// the checkpoint and the report ConfigMaps, and nothing else.
const FieldManager = "mailshift-worker"

// Keys of the ConfigMaps the worker keeps.
const (
	CheckpointKey = "checkpoint.json"
	ReportKey     = "report.json"
	SummaryKey    = "summary.json"
)

// ApplyProgress applies p as status.progress of the MailboxMigration ns/name under the worker's field manager,
// the one status field a worker writes. It never conflicts with the controller, which applies the rest of
// the status under its own manager.
func ApplyProgress(ctx context.Context, c client.Client, ns, name string, p worker.Progress, bytesTotal int64) error {
	return (&progressWriter{c: c, ns: ns, name: name}).write(ctx, p, bytesTotal)
}

// progressWriter applies status.progress; the engine calls it at most once a second.
type progressWriter struct {
	c        client.Client
	ns, name string
}

func (w *progressWriter) write(ctx context.Context, p worker.Progress, bytesTotal int64) error {
	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	pr := mailshiftv1.Progress{
		FoldersTotal: int32(p.FoldersTotal), FoldersDone: int32(p.FoldersDone),
		ItemsTotal: p.ItemsTotal, ItemsCopied: p.Copied, ItemsSkipped: p.Duplicates + p.Skipped, ItemsFailed: p.Failed,
		BytesCopied: p.Bytes, BytesTotal: bytesTotal, ItemsPerSecond: fmt.Sprintf("%.1f", p.ItemsPerSecond), UpdateTime: &now,
	}
	if p.ETA > 0 {
		eta := metav1.NewTime(now.Add(p.ETA))
		pr.ETA = &eta
	}
	b, err := json.Marshal(pr)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	// Zero counters are stated, not left out: "0 failed" is information.
	for _, k := range []string{"itemsCopied", "itemsSkipped", "itemsFailed", "bytesCopied", "foldersDone"} {
		if _, ok := m[k]; !ok {
			m[k] = int64(0)
		}
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(mailshiftv1.GroupVersion.String())
	u.SetKind("MailboxMigration")
	u.SetNamespace(w.ns)
	u.SetName(w.name)
	if err := unstructured.SetNestedField(u.Object, m, "status", "progress"); err != nil {
		return err
	}
	return w.c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership)
}

// ConfigMapCheckpoint keeps a run's checkpoint in a ConfigMap owned by the MailboxMigration, so that a
// retried pod, a resumed migration and a delta pass continue where the last one stopped, on whatever node.
// Writes are coalesced to at most one a second (the engine saves per folder); Flush writes what is pending.
// Each write replaces the whole value in one update, so a reader sees the previous checkpoint or the new
// one, never a mixture.
type ConfigMapCheckpoint struct {
	Client    client.Client
	Namespace string
	Name      string
	Owner     metav1.OwnerReference
	// Lease, when set, is this run's claim on the ConfigMap: every write is made as its holder and is
	// refused once another run holds the checkpoint.
	Lease *Lease

	mu      sync.Mutex
	pending []byte
	last    time.Time
	timer   *time.Timer
	err     error
}

func (s *ConfigMapCheckpoint) Load(ctx context.Context) (*worker.Checkpoint, error) {
	var cm corev1.ConfigMap
	err := s.Client.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: s.Name}, &cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint ConfigMap %s: %w", s.Name, err)
	}
	v, ok := cm.Data[CheckpointKey]
	if !ok || v == "" {
		return nil, nil
	}
	var c worker.Checkpoint
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		// Starting over is safe: the target is checked message by message, so nothing is copied twice.
		return nil, nil
	}
	return &c, nil
}

func (s *ConfigMapCheckpoint) Save(ctx context.Context, c *worker.Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if s.Lease != nil {
		if err := s.Lease.Err(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = b
	if wait := time.Second - time.Since(s.last); wait > 0 {
		if s.timer == nil {
			s.timer = time.AfterFunc(wait, func() { _ = s.Flush(context.Background()) })
		}
		return s.err
	}
	return s.writeLocked(ctx)
}

// Flush writes a pending checkpoint now.
func (s *ConfigMapCheckpoint) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.Lease != nil && s.Lease.Err() != nil {
		s.pending = nil
		return s.Lease.Err()
	}
	if s.pending == nil {
		return s.err
	}
	return s.writeLocked(ctx)
}

func (s *ConfigMapCheckpoint) writeLocked(ctx context.Context) error {
	data := s.pending
	s.pending, s.last = nil, time.Now()
	// A run that is being stopped still records how far it got: that is what its successor starts from.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	var err error
	if s.Lease != nil {
		err = s.Lease.Write(ctx, map[string]string{CheckpointKey: string(data)})
	} else {
		err = applyConfigMap(ctx, s.Client, s.Namespace, s.Name, s.Owner, map[string]string{CheckpointKey: string(data)})
	}
	if err != nil {
		s.err = fmt.Errorf("checkpoint ConfigMap %s: %w", s.Name, err)
		return s.err
	}
	s.err = nil
	return nil
}

// applyConfigMap writes a ConfigMap's data with server-side apply under the worker's field manager.
func applyConfigMap(ctx context.Context, c client.Client, ns, name string, owner metav1.OwnerReference, data map[string]string) error {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "mailshift", "mailshift.io/migration": LabelValue(owner.Name)})
	if owner.UID != "" {
		u.SetOwnerReferences([]metav1.OwnerReference{owner})
	}
	d := map[string]any{}
	for k, v := range data {
		d[k] = v
	}
	u.Object["data"] = d
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership)
}

// maxReportBytes keeps the report ConfigMap well under the API's 1 MiB object limit.
const maxReportBytes = 768 << 10

// reportData is the report ConfigMap's content: the whole JSON report when it fits, otherwise the totals,
// the folders and as many failed items as fit, with the count of those left out.
func reportData(rep *worker.Report) (map[string]string, error) {
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		return nil, err
	}
	if buf.Len() <= maxReportBytes {
		return map[string]string{ReportKey: buf.String()}, nil
	}
	cut := *rep
	cut.Warnings = nil
	omitted := 0
	for {
		buf.Reset()
		if err := cut.WriteJSON(&buf); err != nil {
			return nil, err
		}
		if buf.Len() <= maxReportBytes || len(cut.Failed) == 0 {
			break
		}
		n := len(cut.Failed) / 2
		omitted += len(cut.Failed) - n
		cut.Failed = cut.Failed[:n]
	}
	note, _ := json.Marshal(map[string]any{"truncated": true, "failedOmitted": omitted, "warningsOmitted": len(rep.Warnings),
		"note": "the report was larger than a ConfigMap holds; the totals are complete, the lists are cut"})
	return map[string]string{ReportKey: buf.String(), SummaryKey: string(note)}, nil
}

// LabelValue fits a name into a label value (at most 63 characters): longer names are cut and given a hash
// of the whole, so that two long names stay apart.
func LabelValue(name string) string {
	if len(name) <= 63 {
		return name
	}
	h := sha256.Sum256([]byte(name))
	return strings.TrimRight(name[:52], "-._") + "-" + hex.EncodeToString(h[:])[:10]
}
