package processkubelet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

const (
	localIP    = "127.0.0.1"
	retryDelay = time.Second
	never      = time.Duration(0) // "no timer needed" from sync
)

// ctr is one container's local state. Exactly one of proc, waiting, term describes its current state (none:
// not started yet).
type ctr struct {
	spec        corev1.Container
	init        bool
	proc        *proc
	waiting     *corev1.ContainerStateWaiting
	term        *corev1.ContainerStateTerminated // final unless the container is restarted
	last        *corev1.ContainerStateTerminated
	restarts    int32
	everStarted bool
	nextStart   time.Time
	backoff     time.Duration
	logOpened   bool
	lastErr     string // last error reported as an Event, to avoid repeating it
	containerID string
	image       string // the pulled image's reference, when the container runs one
	imageID     string
	pullErr     string        // the last image pull's error, while in image pull back-off
	pullRetryAt time.Time     // end of the image pull back-off
	pullBackoff time.Duration // the next image pull back-off
}

type proc struct {
	cmd       *exec.Cmd
	pid       int
	gen       int
	startedAt metav1.Time
	log       *os.File
	logOffset int64
	termPath  string
}

type exitEvent struct {
	c     *ctr
	gen   int
	state *os.ProcessState
	at    metav1.Time
}

// podWorker owns one Pod (by UID): it alone runs the Pod's processes and writes its status.
type podWorker struct {
	k        *Kubelet
	uid      types.UID
	ns, name string
	dir      string
	notify   chan struct{}
	exits    chan exitEvent
	done     chan struct{}

	pod         *corev1.Pod // latest from the informer
	lastWritten *corev1.Pod // our last successful status write
	lastOwn     *ownStatus  // what it said
	initialized bool
	initCtrs    []*ctr
	ctrs        []*ctr
	startTime   *metav1.Time
	prepared    bool
	prepErr     string
	volumes     map[string]string // volume name → local path
	kubeconfig  string
	phase       corev1.PodPhase
	reason      string
	message     string
	stopping    bool
	stopBy      time.Time
	sigkilled   bool
	deleted     bool // the final delete was sent
	gen         int
}

func newPodWorker(k *Kubelet, pod *corev1.Pod) *podWorker {
	n := len(pod.Spec.InitContainers) + len(pod.Spec.Containers)
	return &podWorker{
		k:      k,
		uid:    pod.UID,
		ns:     pod.Namespace,
		name:   pod.Name,
		dir:    filepath.Join(k.opts.WorkDir, "pods", string(pod.UID)),
		notify: make(chan struct{}, 1),
		exits:  make(chan exitEvent, n+1),
		done:   make(chan struct{}),
		phase:  corev1.PodPending,
	}
}

func (w *podWorker) poke() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *podWorker) logf(format string, args ...any) {
	w.k.opts.Logf("processkubelet: pod %s/%s: "+format, append([]any{w.ns, w.name}, args...)...)
}

func (w *podWorker) run(ctx context.Context) {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, finished := w.sync(ctx)
		if finished {
			_ = os.RemoveAll(w.dir)
			return
		}
		if next == never {
			next = time.Hour
		}
		timer.Reset(next)
		select {
		case <-ctx.Done():
			w.killAll(syscall.SIGKILL)
			w.awaitExits(5 * time.Second)
			return
		case <-w.notify:
		case ev := <-w.exits:
			w.onExit(ev)
		case <-timer.C:
		}
	}
}

func (w *podWorker) all() []*ctr { return append(append([]*ctr{}, w.initCtrs...), w.ctrs...) }

func (w *podWorker) anyRunning() bool {
	for _, c := range w.all() {
		if c.proc != nil {
			return true
		}
	}
	return false
}

func (w *podWorker) killAll(sig syscall.Signal) {
	for _, c := range w.all() {
		if c.proc != nil {
			_ = syscall.Kill(-c.proc.pid, sig)
		}
	}
}

// awaitExits processes exit events until no process runs or d has passed.
func (w *podWorker) awaitExits(d time.Duration) {
	deadline := time.After(d)
	for w.anyRunning() {
		select {
		case ev := <-w.exits:
			w.onExit(ev)
		case <-deadline:
			return
		}
	}
}

func isTerminal(p corev1.PodPhase) bool { return p == corev1.PodSucceeded || p == corev1.PodFailed }

// sync moves the Pod one step forward; it returns when to sync again without an event (never: only on events)
// and whether the worker is finished (the Pod is gone).
func (w *podWorker) sync(ctx context.Context) (time.Duration, bool) {
	pod, err := w.k.podLister.Pods(w.ns).Get(w.name)
	if err != nil || pod.UID != w.uid {
		w.killAll(syscall.SIGKILL)
		w.awaitExits(5 * time.Second)
		return never, true
	}
	w.pod = pod
	if !w.initialized {
		w.initFrom(pod)
	}
	if w.deleted {
		return never, false // only finalizers can hold it now
	}
	now := time.Now()
	if pod.DeletionTimestamp != nil {
		return w.syncDeleting(ctx, now), false
	}
	if isTerminal(w.phase) {
		return w.writeStatus(ctx), false
	}
	next := never
	if ads := pod.Spec.ActiveDeadlineSeconds; ads != nil && w.startTime != nil && !w.stopping {
		dl := w.startTime.Add(time.Duration(*ads) * time.Second)
		if !now.Before(dl) {
			w.reason, w.message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
			w.k.recorder.Event(pod, corev1.EventTypeNormal, "DeadlineExceeded", w.message)
			w.beginStop(now)
		} else {
			next = dl.Sub(now)
		}
	}
	if w.stopping { // activeDeadlineSeconds
		if w.anyRunning() {
			return w.stopTick(now), false
		}
		w.finishContainers()
		w.phase = corev1.PodFailed
		return w.writeStatus(ctx), false
	}
	if w.startTime == nil {
		t := nowSec()
		w.startTime = &t
	}
	if !w.prepared {
		if err := w.prepare(ctx); err != nil {
			msg := err.Error()
			if msg != w.prepErr {
				w.k.recorder.Event(pod, corev1.EventTypeWarning, "FailedMount", msg)
				w.logf("%s", msg)
			}
			w.prepErr = msg
			w.writeStatus(ctx)
			return minDur(retryDelay, next), false
		}
		w.prepared, w.prepErr = true, ""
	}
	next = minDur(next, w.runContainers(ctx, now))
	return minDur(next, w.writeStatus(ctx)), false
}

// initFrom builds the local state from the Pod's spec and, for a Pod an earlier kubelet ran, its status.
func (w *podWorker) initFrom(pod *corev1.Pod) {
	w.initialized = true
	for _, s := range pod.Spec.InitContainers {
		w.initCtrs = append(w.initCtrs, &ctr{spec: s, init: true, backoff: w.k.opts.RestartBackoff})
	}
	for _, s := range pod.Spec.Containers {
		w.ctrs = append(w.ctrs, &ctr{spec: s, backoff: w.k.opts.RestartBackoff})
	}
	w.startTime = pod.Status.StartTime
	if pod.Status.Phase == corev1.PodPending && len(pod.Status.ContainerStatuses)+len(pod.Status.InitContainerStatuses) == 0 {
		return // a new Pod
	}
	// Adopt what an earlier kubelet reported; its processes are gone.
	adopt := func(cs []*ctr, sts []corev1.ContainerStatus) {
		for _, c := range cs {
			for _, st := range sts {
				if st.Name != c.spec.Name {
					continue
				}
				c.restarts = st.RestartCount
				c.everStarted = st.State.Running != nil || st.State.Terminated != nil || st.LastTerminationState.Terminated != nil
				switch {
				case st.State.Terminated != nil:
					c.term = st.State.Terminated.DeepCopy()
				case st.State.Running != nil && pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
					c.term = lostContainer()
				}
				if c.term != nil && c.term.ExitCode != 0 && !isTerminal(pod.Status.Phase) && pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
					c.last, c.term = c.term, nil // to be restarted
				}
			}
		}
	}
	adopt(w.initCtrs, pod.Status.InitContainerStatuses)
	adopt(w.ctrs, pod.Status.ContainerStatuses)
	if isTerminal(pod.Status.Phase) {
		w.phase, w.reason, w.message = pod.Status.Phase, pod.Status.Reason, pod.Status.Message
	}
}

func lostContainer() *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "ContainerStatusUnknown",
		Message: "The container could not be located when the pod was terminated"}
}

func (w *podWorker) gracePeriod() time.Duration {
	g := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if w.pod.Spec.TerminationGracePeriodSeconds != nil {
		g = *w.pod.Spec.TerminationGracePeriodSeconds
	}
	if w.pod.DeletionGracePeriodSeconds != nil {
		g = *w.pod.DeletionGracePeriodSeconds
	}
	d := time.Duration(g) * time.Second
	if d > w.k.opts.MaxGracePeriod {
		d = w.k.opts.MaxGracePeriod
	}
	return d
}

// beginStop sends SIGTERM to every process group and sets the SIGKILL deadline.
func (w *podWorker) beginStop(now time.Time) {
	w.stopping = true
	grace := w.gracePeriod()
	w.stopBy = now.Add(grace)
	sig := syscall.SIGTERM
	if grace == 0 {
		sig, w.sigkilled = syscall.SIGKILL, true
	}
	for _, c := range w.all() {
		if c.proc != nil {
			w.k.recorder.Eventf(w.pod, corev1.EventTypeNormal, "Killing", "Stopping container %s", c.spec.Name)
			_ = syscall.Kill(-c.proc.pid, sig)
		}
	}
}

func (w *podWorker) stopTick(now time.Time) time.Duration {
	if now.Before(w.stopBy) {
		return w.stopBy.Sub(now)
	}
	if !w.sigkilled {
		w.sigkilled = true
		w.killAll(syscall.SIGKILL)
	}
	return retryDelay // exit events wake us sooner
}

// finishContainers gives every container that is not running a final terminated state: a container in
// restart back-off keeps its last termination; one that never started is ContainerStatusUnknown.
func (w *podWorker) finishContainers() {
	for _, c := range w.ctrs {
		if c.proc != nil || c.term != nil {
			continue
		}
		c.waiting = nil
		if c.last != nil {
			c.term, c.last = c.last, nil
		} else {
			c.term = lostContainer()
		}
	}
}

func (w *podWorker) syncDeleting(ctx context.Context, now time.Time) time.Duration {
	if !w.stopping {
		w.beginStop(now)
	}
	if w.anyRunning() {
		return w.stopTick(now)
	}
	if !isTerminal(w.phase) {
		w.finishContainers()
		w.phase = corev1.PodSucceeded
		for _, c := range w.all() {
			if c.term == nil || c.term.ExitCode != 0 {
				w.phase = corev1.PodFailed
			}
		}
	}
	if d := w.writeStatus(ctx); d != never {
		return d
	}
	err := w.k.cs.CoreV1().Pods(w.ns).Delete(ctx, w.name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &w.uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.logf("final delete: %v", err)
		return retryDelay
	}
	w.deleted = true
	return never
}

// runContainers starts what should run: the first unfinished init container, else every container that
// is not running and not finished, when its back-off has passed. It sets the phase.
func (w *podWorker) runContainers(ctx context.Context, now time.Time) time.Duration {
	policy := w.pod.Spec.RestartPolicy
	next := never
	for _, c := range w.initCtrs {
		if c.term != nil && c.term.ExitCode == 0 {
			continue
		}
		w.phase = corev1.PodPending
		switch {
		case c.proc != nil:
			return next
		case c.term != nil: // failed, not to be restarted
			w.phase = corev1.PodFailed
			return next
		case now.Before(c.nextStart):
			return c.nextStart.Sub(now)
		}
		w.start(ctx, c, now)
		if c.term != nil && c.term.ExitCode != 0 && policy == corev1.RestartPolicyNever {
			w.phase = corev1.PodFailed
		}
		if c.proc == nil && c.term == nil {
			return minDur(next, time.Until(c.nextStart))
		}
		return next
	}
	for _, c := range w.ctrs {
		if c.proc != nil || c.term != nil {
			continue
		}
		if now.Before(c.nextStart) {
			next = minDur(next, c.nextStart.Sub(now))
			continue
		}
		w.start(ctx, c, now)
		if c.proc == nil && c.term == nil {
			next = minDur(next, time.Until(c.nextStart))
		}
	}
	w.phase = w.containersPhase(policy)
	return next
}

// containersPhase is the kubelet's getPhase once init containers are done.
func (w *podWorker) containersPhase(policy corev1.RestartPolicy) corev1.PodPhase {
	var pending, running, stopped, succeeded int
	for _, c := range w.ctrs {
		switch {
		case c.proc != nil:
			running++
		case c.term != nil:
			stopped++
			if c.term.ExitCode == 0 {
				succeeded++
			}
		case c.last != nil: // in back-off
			stopped++
		default:
			pending++
		}
	}
	switch {
	case pending > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case policy == corev1.RestartPolicyAlways:
		return corev1.PodRunning
	case stopped == succeeded:
		return corev1.PodSucceeded
	case policy == corev1.RestartPolicyOnFailure:
		return corev1.PodRunning
	default:
		return corev1.PodFailed
	}
}

// start tries to start c's process. Afterwards c is running, waiting (with nextStart set: a configuration
// error to retry) or terminated (the executable could not be started).
func (w *podWorker) start(ctx context.Context, c *ctr, now time.Time) {
	if c.pullErr != "" && now.Before(c.pullRetryAt) {
		w.pullBackOff(c)
		return
	}
	ps, err := w.k.buildProcess(ctx, w, c)
	if err != nil {
		reason, msg := reasonOf(err)
		if reason == "StartError" {
			w.terminated(c, &corev1.ContainerStateTerminated{ExitCode: 128, Reason: reason, Message: msg,
				StartedAt: nowSec(), FinishedAt: nowSec()})
			return
		}
		c.waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: msg}
		c.nextStart = now.Add(retryDelay)
		if reason == "ErrImagePull" {
			w.pullFailed(c, msg, now)
		}
		if msg != c.lastErr {
			c.lastErr = msg
			if reason == "ErrImagePull" {
				msg = reason // the pull's error is in the Failed event before
			}
			w.k.recorder.Eventf(w.pod, corev1.EventTypeWarning, "Failed", "Error: %s", msg)
			w.logf("container %s: %s: %s", c.spec.Name, reason, c.waiting.Message)
		}
		return
	}
	c.pullErr, c.pullBackoff = "", 0
	c.lastErr = ""
	logPath := w.k.LogPath(w.ns, w.name, c.spec.Name)
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if !c.logOpened {
		flags |= os.O_TRUNC
	}
	logf, err := os.OpenFile(logPath, flags, 0o644)
	if err != nil {
		w.terminated(c, &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError",
			Message: "processkubelet: open log: " + err.Error(), StartedAt: nowSec(), FinishedAt: nowSec()})
		return
	}
	c.logOpened = true
	off, _ := logf.Seek(0, 2)
	cmd := &exec.Cmd{
		Path:        ps.path,
		Args:        append([]string{ps.argv0}, ps.args...),
		Env:         ps.env,
		Dir:         ps.dir,
		Stdout:      logf,
		Stderr:      logf,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	started := nowSec()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		w.terminated(c, &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError",
			Message: err.Error(), StartedAt: started, FinishedAt: nowSec()})
		return
	}
	if c.everStarted {
		c.restarts++
	}
	c.everStarted = true
	c.waiting, c.term = nil, nil
	w.gen++
	c.containerID = fmt.Sprintf("processkubelet://%s-%s-%d", w.uid, c.spec.Name, c.restarts)
	c.image, c.imageID = ps.image, ps.imageID
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, gen: w.gen, startedAt: started, log: logf, logOffset: off, termPath: ps.termPath}
	c.proc = p
	w.k.setProc(w.ns, w.name, c.spec.Name, w.uid, p.pid)
	w.k.recorder.Eventf(w.pod, corev1.EventTypeNormal, "Started", "Started container %s (pid %d)", c.spec.Name, p.pid)
	go func() {
		_ = cmd.Wait()
		ev := exitEvent{c: c, gen: p.gen, state: cmd.ProcessState, at: nowSec()}
		select {
		case w.exits <- ev:
		case <-w.done:
		}
	}()
}

// pullFailed starts or lengthens c's image pull back-off after a failed pull: ErrImagePull stays visible for
// retryDelay, then ImagePullBackOff until the next pull, as the kubelet alternates them. The back-off starts
// at twice Options.RestartBackoff and doubles up to 10 times Options.RestartBackoff (the kubelet's: 10s to 5m).
func (w *podWorker) pullFailed(c *ctr, msg string, now time.Time) {
	first, max := 2*w.k.opts.RestartBackoff, 10*w.k.opts.RestartBackoff
	switch {
	case c.pullBackoff == 0:
		c.pullBackoff = first
	case 2*c.pullBackoff > max:
		c.pullBackoff = max
	default:
		c.pullBackoff *= 2
	}
	c.pullErr, c.pullRetryAt = msg, now.Add(c.pullBackoff)
}

// pullBackOff shows c waiting in ImagePullBackOff until its next pull.
func (w *podWorker) pullBackOff(c *ctr) {
	if c.waiting == nil || c.waiting.Reason != "ImagePullBackOff" {
		w.k.recorder.Eventf(w.pod, corev1.EventTypeNormal, "BackOff", "Back-off pulling image %q", c.spec.Image)
	}
	c.waiting = &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff",
		Message: fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", c.spec.Image, c.pullErr)}
	c.nextStart = c.pullRetryAt
}

func (w *podWorker) onExit(ev exitEvent) {
	c := ev.c
	if c.proc == nil || c.proc.gen != ev.gen {
		return
	}
	p := c.proc
	// Like a container runtime when a container's init process dies: nothing of the group survives.
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	_ = p.log.Sync()
	code, sig := exitStatus(ev.state)
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	term := &corev1.ContainerStateTerminated{
		ExitCode: code, Signal: sig, Reason: reason,
		Message:   w.terminationMessage(c, p, code),
		StartedAt: p.startedAt, FinishedAt: ev.at, ContainerID: c.containerID,
	}
	_ = p.log.Close()
	c.proc = nil
	w.k.setProc(w.ns, w.name, c.spec.Name, w.uid, 0)
	w.terminated(c, term)
}

// terminated records c's termination and decides whether it is restarted.
func (w *podWorker) terminated(c *ctr, term *corev1.ContainerStateTerminated) {
	policy := w.pod.Spec.RestartPolicy
	restart := !w.stopping && w.pod.DeletionTimestamp == nil &&
		(policy == corev1.RestartPolicyAlways && !c.init ||
			policy != corev1.RestartPolicyNever && term.ExitCode != 0)
	if !restart {
		c.waiting, c.term = nil, term
		return
	}
	c.last, c.term = term, nil
	c.nextStart = time.Now().Add(c.backoff)
	c.waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: fmt.Sprintf(
		"back-off %s restarting failed container=%s pod=%s_%s(%s)", c.backoff, c.spec.Name, w.name, w.ns, w.uid)}
	w.k.recorder.Eventf(w.pod, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s", c.spec.Name)
	c.backoff *= 2
	if max := 10 * w.k.opts.RestartBackoff; c.backoff > max {
		c.backoff = max
	}
}

func exitStatus(st *os.ProcessState) (int32, int32) {
	if st == nil {
		return 128, 0
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int32(ws.Signal()), int32(ws.Signal())
	}
	return int32(st.ExitCode()), 0
}

const (
	maxTerminationMessage = 4096
	maxFallbackBytes      = 2048
	maxFallbackLines      = 80
)

func (w *podWorker) terminationMessage(c *ctr, p *proc, code int32) string {
	msg := readLast(p.termPath, 0, maxTerminationMessage)
	if msg == "" && code != 0 && c.spec.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError {
		logs := readLast(p.log.Name(), p.logOffset, maxFallbackBytes)
		lines := strings.SplitAfter(logs, "\n")
		if len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if len(lines) > maxFallbackLines {
			lines = lines[len(lines)-maxFallbackLines:]
		}
		msg = strings.Join(lines, "")
	}
	return msg
}

// readLast returns at most the last max bytes of path after offset from.
func readLast(path string, from int64, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	start := from
	if st.Size()-start > max {
		start = st.Size() - max
	}
	if start < 0 || start > st.Size() {
		return ""
	}
	b := make([]byte, st.Size()-start)
	n, _ := f.ReadAt(b, start)
	return string(b[:n])
}

// ---- status ----

func nowSec() metav1.Time { return metav1.NewTime(time.Now().Truncate(time.Second)) }

func minDur(a, b time.Duration) time.Duration {
	switch {
	case a == never:
		return b
	case b == never:
		return a
	case a < b:
		return a
	}
	return b
}

func (w *podWorker) containerStatus(c *ctr, defaultWaiting string) corev1.ContainerStatus {
	st := corev1.ContainerStatus{
		Name: c.spec.Name, Image: c.spec.Image, ImageID: c.imageID, ContainerID: c.containerID,
		RestartCount: c.restarts, Started: ptr.To(c.proc != nil),
	}
	if c.image != "" {
		st.Image = c.image
	}
	switch {
	case c.proc != nil:
		st.State.Running = &corev1.ContainerStateRunning{StartedAt: c.proc.startedAt}
		st.Ready = !c.init
	case c.term != nil:
		st.State.Terminated = c.term.DeepCopy()
		st.Ready = c.init && c.term.ExitCode == 0
	case c.waiting != nil:
		st.State.Waiting = c.waiting.DeepCopy()
	default:
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: defaultWaiting}
		if defaultWaiting == "ContainerCreating" && w.prepErr != "" {
			st.State.Waiting.Message = w.prepErr
		}
	}
	if c.last != nil {
		st.LastTerminationState.Terminated = c.last.DeepCopy()
	}
	return st
}

// ownStatus is the part of the Pod's status this kubelet owns, computed from local state only.
type ownStatus struct {
	Phase           corev1.PodPhase
	Reason, Message string
	StartTime       *metav1.Time
	Init, Ctrs      []corev1.ContainerStatus
	Conds           []corev1.PodCondition // without times
}

func (w *podWorker) ownStatus() ownStatus {
	o := ownStatus{Phase: w.phase, Reason: w.reason, Message: w.message, StartTime: w.startTime}
	initDone := true
	var incomplete []string
	for _, c := range w.initCtrs {
		def := "PodInitializing"
		if !w.prepared {
			def = "ContainerCreating"
		}
		o.Init = append(o.Init, w.containerStatus(c, def))
		if c.term == nil || c.term.ExitCode != 0 {
			initDone = false
			incomplete = append(incomplete, c.spec.Name)
		}
	}
	ready := true
	var unready []string
	for _, c := range w.ctrs {
		def := "ContainerCreating"
		if w.prepared && len(w.initCtrs) > 0 {
			def = "PodInitializing"
		}
		o.Ctrs = append(o.Ctrs, w.containerStatus(c, def))
		if c.proc == nil {
			ready = false
			unready = append(unready, c.spec.Name)
		}
	}
	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionTrue}
		if !ok {
			c.Status, c.Reason, c.Message = corev1.ConditionFalse, reason, msg
		}
		o.Conds = append(o.Conds, c)
	}
	cond(corev1.PodReadyToStartContainers, w.prepared && !isTerminal(w.phase), "", "")
	cond(corev1.PodInitialized, initDone, "ContainersNotInitialized",
		fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " ")))
	reason, msg := "ContainersNotReady", fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	if w.phase == corev1.PodSucceeded {
		reason, msg = "PodCompleted", ""
	}
	cond(corev1.ContainersReady, ready, reason, msg)
	cond(corev1.PodReady, ready, reason, msg)
	return o
}

// merged is base with o applied; conditions of other types (PodScheduled, DisruptionTarget, ...) are kept,
// and PodScheduled=True is added when missing.
func merged(base *corev1.PodStatus, o ownStatus) corev1.PodStatus {
	st := base.DeepCopy()
	st.Phase, st.Reason, st.Message = o.Phase, o.Reason, o.Message
	st.HostIP, st.HostIPs = localIP, []corev1.HostIP{{IP: localIP}}
	st.PodIP, st.PodIPs = localIP, []corev1.PodIP{{IP: localIP}}
	st.StartTime = o.StartTime
	st.InitContainerStatuses, st.ContainerStatuses = o.Init, o.Ctrs
	now := nowSec()
	hasScheduled := false
	for _, c := range st.Conditions {
		hasScheduled = hasScheduled || c.Type == corev1.PodScheduled
	}
	if !hasScheduled {
		setCondition(st, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	for _, c := range o.Conds {
		c.LastTransitionTime = now
		setCondition(st, c)
	}
	return *st
}

// writeStatus writes the owned status when it changed since the last successful write, retrying on
// conflict with a fresh copy. It returns when to retry after a failure (never on success).
func (w *podWorker) writeStatus(ctx context.Context) time.Duration {
	own := w.ownStatus()
	if w.lastOwn != nil && apiequality.Semantic.DeepEqual(own, *w.lastOwn) {
		return never
	}
	base := w.pod
	if w.lastWritten != nil && rvNewer(w.lastWritten, base) {
		base = w.lastWritten
	}
	for attempt := 0; attempt < 5; attempt++ {
		if isTerminal(base.Status.Phase) && own.Phase != base.Status.Phase {
			w.lastOwn = &own
			return never // a terminal phase is never left
		}
		desired := merged(&base.Status, own)
		if apiequality.Semantic.DeepEqual(desired, base.Status) {
			w.lastOwn = &own
			return never
		}
		p := base.DeepCopy()
		p.Status = desired
		out, err := w.k.cs.CoreV1().Pods(w.ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		switch {
		case err == nil:
			w.lastWritten, w.lastOwn = out, &own
			return never
		case apierrors.IsNotFound(err):
			return never
		case apierrors.IsConflict(err):
			fresh, gerr := w.k.cs.CoreV1().Pods(w.ns).Get(ctx, w.name, metav1.GetOptions{})
			if gerr != nil || fresh.UID != w.uid {
				return retryDelay
			}
			base = fresh
		default:
			if ctx.Err() == nil {
				w.logf("status update: %v", err)
			}
			return retryDelay
		}
	}
	return retryDelay
}

// rvNewer reports whether a's resourceVersion is newer than b's (etcd revisions are integers; when they are
// not, a is not taken as newer).
func rvNewer(a, b *corev1.Pod) bool {
	x, err1 := strconv.ParseUint(a.ResourceVersion, 10, 64)
	y, err2 := strconv.ParseUint(b.ResourceVersion, 10, 64)
	return err1 == nil && err2 == nil && x > y
}
