package processkubelet

import (
	"context"
	"fmt"
	"runtime"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

const leaseDurationSeconds = 40

// registerNode creates the Node (or updates its labels and capacity when it exists) and posts a Ready status.
func (k *Kubelet) registerNode(ctx context.Context) error {
	nodes := k.cs.CoreV1().Nodes()
	node, err := nodes.Get(ctx, k.opts.NodeName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		node, err = nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.opts.NodeName, Labels: k.nodeLabel}}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("processkubelet: register node %s: %w", k.opts.NodeName, err)
		}
	case err != nil:
		return fmt.Errorf("processkubelet: get node %s: %w", k.opts.NodeName, err)
	default:
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		for l, v := range k.nodeLabel {
			node.Labels[l] = v
		}
		if node, err = nodes.Update(ctx, node, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("processkubelet: update node %s: %w", k.opts.NodeName, err)
		}
	}
	if err := k.postNodeStatus(ctx); err != nil {
		return err
	}
	return k.renewLease(ctx, node)
}

func (k *Kubelet) postNodeStatus(ctx context.Context) error {
	version := "v0.0.0"
	if v, err := k.cs.Discovery().ServerVersion(); err == nil {
		version = v.GitVersion
	}
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		node, err := k.cs.CoreV1().Nodes().Get(ctx, k.opts.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
			c := corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
			for _, old := range node.Status.Conditions {
				if old.Type == t && old.Status == s {
					c.LastTransitionTime = old.LastTransitionTime
				}
			}
			return c
		}
		node.Status.Capacity = k.capacity.DeepCopy()
		node.Status.Allocatable = k.capacity.DeepCopy()
		node.Status.Conditions = []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "processkubelet (test-only, runs containers as local processes) is posting ready status"),
		}
		node.Status.Addresses = []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
			{Type: corev1.NodeHostName, Address: k.opts.NodeName},
		}
		node.Status.NodeInfo = corev1.NodeSystemInfo{
			KubeletVersion:          version,
			OperatingSystem:         "linux",
			Architecture:            runtime.GOARCH,
			ContainerRuntimeVersion: "processkubelet://0.1",
			OSImage:                 "processkubelet (local processes, no containers)",
		}
		_, err = k.cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("processkubelet: node status: %w", err)
	}
	return nil
}

func (k *Kubelet) renewLease(ctx context.Context, node *corev1.Node) error {
	leases := k.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, k.opts.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: k.opts.NodeName, Namespace: corev1.NamespaceNodeLease},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(k.opts.NodeName),
				LeaseDurationSeconds: ptr.To[int32](leaseDurationSeconds),
				RenewTime:            &now,
			},
		}
		if node != nil {
			lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity = ptr.To(k.opts.NodeName)
	lease.Spec.LeaseDurationSeconds = ptr.To[int32](leaseDurationSeconds)
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

func (k *Kubelet) heartbeat(ctx context.Context) {
	t := time.NewTicker(k.opts.HeartbeatInterval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := k.renewLease(ctx, nil); err != nil && ctx.Err() == nil {
			k.opts.Logf("processkubelet: renew lease: %v", err)
		}
		if n%4 == 0 {
			if err := k.postNodeStatus(ctx); err != nil && ctx.Err() == nil {
				k.opts.Logf("%v", err)
			}
		}
	}
}
