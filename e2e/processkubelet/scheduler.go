package processkubelet

import (
	"context"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// scheduler binds unscheduled Pods to the one Node, or marks them Unschedulable.
type scheduler struct {
	k      *Kubelet
	lister corelisters.PodLister
	queue  workqueue.TypedRateLimitingInterface[string]
}

func newScheduler(k *Kubelet) *scheduler {
	return &scheduler{k: k, queue: workqueue.NewTypedRateLimitingQueue(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 10*time.Second))}
}

func (s *scheduler) enqueue(o any) {
	if key, err := cache.MetaNamespaceKeyFunc(o); err == nil {
		s.queue.Add(key)
	}
}

func (s *scheduler) run(ctx context.Context) {
	go func() { <-ctx.Done(); s.queue.ShutDown() }()
	done := make(chan struct{})
	const workers = 2
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				key, quit := s.queue.Get()
				if quit {
					return
				}
				if err := s.schedule(ctx, key); err != nil && ctx.Err() == nil {
					s.k.opts.Logf("processkubelet: schedule %s: %v", key, err)
					s.queue.AddRateLimited(key)
				} else {
					s.queue.Forget(key)
				}
				s.queue.Done(key)
			}
		}()
	}
	for range workers {
		<-done
	}
}

func (s *scheduler) schedule(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := s.lister.Pods(ns).Get(name)
	if err != nil {
		return nil // bound or deleted meanwhile
	}
	if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil ||
		pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	if sn := pod.Spec.SchedulerName; sn != "" && sn != corev1.DefaultSchedulerName {
		return nil
	}
	if why := s.k.unfit(pod); why != "" {
		return s.unschedulable(ctx, pod, why)
	}
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: s.k.opts.NodeName},
	}
	if err := s.k.cs.CoreV1().Pods(ns).Bind(ctx, b, metav1.CreateOptions{}); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // deleted, or bound by someone else
		}
		return err
	}
	s.k.recorder.Eventf(pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", ns, name, s.k.opts.NodeName)
	return nil
}

func (s *scheduler) unschedulable(ctx context.Context, pod *corev1.Pod, why string) error {
	msg := "0/1 nodes are available: 1 " + why + "."
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable && c.Message == msg {
			return nil
		}
	}
	p := pod.DeepCopy()
	cond := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
		Message: msg, LastTransitionTime: metav1.Now()}
	setCondition(&p.Status, cond)
	if _, err := s.k.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err // a conflict is retried with the informer's newer copy
	}
	s.k.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	return nil
}

// unfit says why pod cannot run on this Node ("node(s) didn't match Pod's node affinity/selector"), or "".
func (k *Kubelet) unfit(pod *corev1.Pod) string {
	const mismatch = "node(s) didn't match Pod's node affinity/selector"
	for l, v := range pod.Spec.NodeSelector {
		if got, ok := k.nodeLabel[l]; !ok || got != v {
			return mismatch
		}
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
			continue // an empty term matches nothing
		}
		ok := true
		for _, r := range term.MatchExpressions {
			v, has := k.nodeLabel[r.Key]
			ok = ok && matchRequirement(r, v, has)
		}
		for _, r := range term.MatchFields {
			ok = ok && r.Key == "metadata.name" && matchRequirement(r, k.opts.NodeName, true)
		}
		if ok {
			return ""
		}
	}
	return mismatch
}

func matchRequirement(r corev1.NodeSelectorRequirement, v string, has bool) bool {
	in := false
	for _, x := range r.Values {
		in = in || x == v
	}
	switch r.Operator {
	case corev1.NodeSelectorOpIn:
		return has && in
	case corev1.NodeSelectorOpNotIn:
		return !has || !in
	case corev1.NodeSelectorOpExists:
		return has
	case corev1.NodeSelectorOpDoesNotExist:
		return !has
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !has || len(r.Values) != 1 {
			return false
		}
		a, err1 := strconv.ParseInt(v, 10, 64)
		b, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == corev1.NodeSelectorOpGt {
			return a > b
		}
		return a < b
	}
	return false
}

// setCondition replaces the condition of c's type in st (keeping its LastTransitionTime when the status
// is unchanged) or appends it.
func setCondition(st *corev1.PodStatus, c corev1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status {
				c.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}
