package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/mailsync"
	"github.com/mailshift/mailshift/internal/syncstate"
)

// A SyncPolicy's state lives in a ConfigMap of its own, owned by it: the encoding of a 100,000-message pair
// is about 80 KB (syncstate.TestEncodedSize), so one object holds it, and it survives the loss of the
// manager's pod. A ConfigMap, not a Secret: the state holds UIDs, flags and UIDVALIDITYs (and, for a copy
// in flight, its Message-ID), no content and no credentials, and the manager needs no right to write
// Secrets. Not in the mailbox (METADATA, a hidden folder): a user's client would see, move or delete it.

const (
	stateKey  = "state"
	reportKey = "report.json"
	// maxStateBytes keeps the state under what one object may hold, with room for its metadata.
	maxStateBytes = 900 << 10
	// maxSyncReportBytes keeps the report well under it.
	maxSyncReportBytes = 768 << 10
	// apiTimeout bounds one write of the state or the report.
	apiTimeout = 15 * time.Second
)

func stateName(sp *mailshiftv1.SyncPolicy) string { return truncateName(sp.Name, 243) + "-syncstate" }
func reportNameOf(sp *mailshiftv1.SyncPolicy) string {
	return truncateName(sp.Name, 241) + "-syncreport"
}

// configMapState is a mailsync.Store in the policy's state ConfigMap.
type configMapState struct {
	c  client.Client
	sp *mailshiftv1.SyncPolicy
	// lost: the ConfigMap held a state that could not be read; the cycle started over.
	lost bool
}

func (s *configMapState) name() string { return stateName(s.sp) }

func (s *configMapState) Load() (*syncstate.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	var cm corev1.ConfigMap
	err := s.c.Get(ctx, types.NamespacedName{Namespace: s.sp.Namespace, Name: s.name()}, &cm)
	if apierrors.IsNotFound(err) {
		return &syncstate.State{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the sync state (ConfigMap %s): %w", s.name(), err)
	}
	b, ok := cm.BinaryData[stateKey]
	if !ok {
		return &syncstate.State{}, nil
	}
	st, err := syncstate.Decode(b)
	if errors.Is(err, syncstate.ErrDamaged) {
		// Starting over is safe: every message is matched again by identity, nothing is copied twice.
		s.lost = true
		return &syncstate.State{}, nil
	}
	return st, err
}

func (s *configMapState) Save(st *syncstate.State) error {
	b, err := syncstate.Encode(st)
	if err != nil {
		return err
	}
	if len(b) > maxStateBytes {
		return fmt.Errorf("the sync state is %d bytes, more than one ConfigMap holds (%d); sync fewer folders in this policy", len(b), maxStateBytes)
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	return applyPolicyConfigMap(ctx, s.c, s.sp, s.name(), nil, map[string][]byte{stateKey: b})
}

// applyPolicyConfigMap writes a ConfigMap owned by sp: created, or updated in place. (Not with server-side
// apply: the manager's base role may create and update ConfigMaps, not patch them; patching is what only an
// in-process migration's role adds, for its checkpoint.)
func applyPolicyConfigMap(ctx context.Context, c client.Client, sp *mailshiftv1.SyncPolicy, name string, data map[string]string, binary map[string][]byte) error {
	// The cache may not have seen the last write yet: a conflict, or a create of what exists, is tried again.
	return retry.OnError(retry.DefaultRetry, func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }, func() error {
		return writePolicyConfigMap(ctx, c, sp, name, data, binary)
	})
}

func writePolicyConfigMap(ctx context.Context, c client.Client, sp *mailshiftv1.SyncPolicy, name string, data map[string]string, binary map[string][]byte) error {
	var cm corev1.ConfigMap
	err := c.Get(ctx, types.NamespacedName{Namespace: sp.Namespace, Name: name}, &cm)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	exists := err == nil
	if !exists {
		cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: sp.Namespace, Name: name}}
	}
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels["app.kubernetes.io/managed-by"] = "mailshift"
	cm.Labels["mailshift.io/syncpolicy"] = truncateName(sp.Name, 63)
	if sp.UID != "" {
		cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: mailshiftv1.GroupVersion.String(), Kind: "SyncPolicy", Name: sp.Name, UID: sp.UID}}
	}
	cm.Data, cm.BinaryData = data, binary
	if exists {
		return c.Update(ctx, &cm)
	}
	return c.Create(ctx, &cm)
}

// writeSyncReport writes a cycle's report into the policy's report ConfigMap: all of it when it fits,
// else every folder with as many failed items as fit.
func writeSyncReport(ctx context.Context, c client.Client, sp *mailshiftv1.SyncPolicy, rep *mailsync.Report) (string, error) {
	cut := *rep
	cut.Folders = append([]mailsync.FolderReport(nil), rep.Folders...)
	var b []byte
	for {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(&cut); err != nil {
			return "", err
		}
		b = buf.Bytes()
		if len(b) <= maxSyncReportBytes {
			break
		}
		halved := false
		for i := range cut.Folders {
			if n := len(cut.Folders[i].Failures); n > 1 {
				cut.Folders[i].Failures = cut.Folders[i].Failures[:n/2]
				halved = true
			}
		}
		if !halved {
			return "", fmt.Errorf("the report is %d bytes even without its failed items", len(b))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	name := reportNameOf(sp)
	return name, applyPolicyConfigMap(ctx, c, sp, name, map[string]string{reportKey: string(b)}, nil)
}
