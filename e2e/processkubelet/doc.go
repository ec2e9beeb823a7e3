// Package processkubelet is a TEST-ONLY stand-in for the kubelet (and the scheduler) that runs each
// container of a Pod as a plain local process, for end-to-end tests on a machine without any container
// runtime. It is not a kubelet: it has no isolation of any kind, and it is named and documented as the fake it
// is. Use it with e2e/cluster, which starts a real kube-apiserver and kube-controller-manager.
//
// # What it does
//
//   - Registers one Node (Options.NodeName) with labels kubernetes.io/hostname, kubernetes.io/os=linux,
//     kubernetes.io/arch, a Ready condition and cpu/memory/pods capacity, and keeps it fresh with a Lease in
//     kube-node-lease (every HeartbeatInterval) and a status heartbeat (every 4 Leases).
//   - Acts as the scheduler for Pods with no spec.nodeName and schedulerName "default-scheduler" (or empty):
//     binds them to its Node through the Binding subresource when spec.nodeSelector and the required node
//     affinity match the Node's labels; otherwise sets PodScheduled=False, reason Unschedulable, and leaves
//     them Pending. Resources, taints and tolerations, pod (anti-)affinity and PVC topology are not
//     considered.
//   - Runs the Pods bound to its Node: init containers one by one, then all containers at once, each as a
//     process in its own process group, with stdout and stderr appended to
//     Options.WorkDir/<namespace>_<pod>_<container>.log (a new Pod of the same name truncates it).
//   - Reports status as the kubelet does: phase Pending → Running → Succeeded/Failed; conditions
//     PodReadyToStartContainers, PodScheduled, Initialized, ContainersReady, Ready; container states waiting
//     (ContainerCreating, PodInitializing, CreateContainerConfigError, ErrImageNeverPull, ErrImagePull,
//     ImagePullBackOff, InvalidImageName, CrashLoopBackOff),
//     running (startedAt) and terminated (exitCode, reason Completed or Error, 128+n for a process killed by
//     signal n, message, startedAt, finishedAt); restartCount; podIP and hostIP 127.0.0.1; startTime.
//     Status writes retry on conflict and never touch conditions they do not own (e.g. DisruptionTarget).
//   - restartPolicy Never, OnFailure and Always, with an exponential restart back-off (Options.RestartBackoff,
//     doubling up to 10 times that). activeDeadlineSeconds kills the Pod and fails it with reason
//     DeadlineExceeded.
//   - Deletion (a deletionTimestamp, as set by the Job controller, the garbage collector or a user): SIGTERM
//     to every process group, SIGKILL after min(grace period, Options.MaxGracePeriod), the terminal status
//     written (Failed unless every container exited 0), then the final delete with grace period 0. Pods
//     whose containers never started get terminated state ContainerStatusUnknown (exit code 137), as from
//     the kubelet. Finalizers (batch.kubernetes.io/job-tracking) are left to their controllers.
//
// # Executables
//
// A container's executable comes from Options.Binaries when it has an entry for the container's command[0]
// or, when command is empty, for its image (the image also matches without its tag or digest): the container's
// args follow (after command[1:] when command is given). Otherwise, with Options.PullImages, it comes from the
// container's image, pulled and unpacked:
//
//   - Pulling: the reference is resolved with go-containerregistry; an image index yields its linux/GOARCH
//     image. Only registries on loopback (127.0.0.0/8, [::1], localhost) are contacted, over a transport that
//     dials loopback addresses only (a redirect elsewhere fails too); any other registry is an ErrImagePull
//     with a message saying so. imagePullPolicy is honoured: Always resolves the tag on every start (and
//     unpacks again only when the digest changed), IfNotPresent (the default but for :latest and untagged
//     references) uses what the reference resolved to before, Never fails with ErrImageNeverPull when
//     nothing was pulled. imagePullSecrets are ignored: a loopback test registry needs no credentials. A
//     failed pull leaves the container waiting with reason ErrImagePull and the error, then ImagePullBackOff
//     (`Back-off pulling image "x": ErrImagePull: ...`) until the next try, after 2, 4, ... up to 10 times
//     Options.RestartBackoff; an unparsable reference is InvalidImageName. Events Pulling, Pulled, Failed and
//     BackOff are those of the kubelet. containerStatuses[].image is the fully qualified reference and
//     imageID repository@digest of what it resolved to (the index's digest for an index).
//   - Unpacking: the layers are applied in order to WorkDir/images/<digest>/rootfs, once per image digest,
//     with the OCI whiteouts (.wh.<name> and opaque directories). Nothing is written outside that directory: a
//     tar entry or hard-link target with a ".." component is refused, a symbolic link met on the way to an
//     entry is followed with the root filesystem as "/" (an absolute target never reaches the host's files)
//     and refused when it climbs above it, and an entry never writes through a symbolic link at its own path.
//     Regular files together may take at most Options.MaxImageBytes (default 2 GiB); the image config at most
//     4 MiB; 256 layers; a pull at most 5 minutes. Ownership, devices, FIFOs and extended attributes are not
//     reproduced. A refused image is an ErrImagePull naming the entry.
//   - Running: argv is the container's command and args when command is set (the image's Entrypoint and Cmd
//     are then ignored), else the image's Entrypoint followed by the container's args or, without args, the
//     image's Cmd. argv[0] is found inside the root filesystem: /manager is <rootfs>/manager (symbolic links
//     followed as above); a name without a slash is looked up in PATH's directories inside the root
//     filesystem. The image's Env comes after Options.Env and before everything else below (the container's
//     env wins over it); workingDir defaults to the image's WorkingDir, is taken inside the root filesystem
//     unless a volume is mounted there, and is the root filesystem's "/" when neither sets one. The image's
//     User is checked as the kubelet checks it: with runAsNonRoot and no runAsUser, an image user that is 0
//     (or unset) or not numeric is refused with CreateContainerConfigError. The process still runs as the
//     kubelet's own user, on the host's kernel and with the host's /etc, /proc and dynamic loader: static
//     executables (such as mailshift's) behave as in a container, dynamically linked ones use the host's
//     libraries, and a script's interpreter (#!/bin/sh) is the host's. The root filesystem is shared by every
//     container of the image and not copied: a process that writes into it changes it for the others.
//
// A container with neither a Binaries entry nor an image to pull (PullImages unset) waits with reason
// ErrImageNeverPull; a command[0] with no entry and no image found for it terminates with reason StartError
// and exit code 128, as a missing executable does in a real runtime.
//
// # Environment
//
// A process gets exactly: Options.Env (default: PATH of the test process), HOME (a per-container directory),
// HOSTNAME (the Pod's name), KUBERNETES_SERVICE_HOST/PORT and the other KUBERNETES_* service variables
// pointing at the real apiserver, KUBECONFIG (see Service accounts), then the container's envFrom and env,
// later entries winning. env supports value with $(VAR) expansion, valueFrom secretKeyRef and
// configMapKeyRef (optional honoured), fieldRef (metadata.name, .namespace, .uid, .labels['k'],
// .annotations['k'], spec.nodeName, spec.serviceAccountName, status.podIP(s), status.hostIP(s): the IPs are
// 127.0.0.1) and resourceFieldRef (requests/limits of cpu, memory and ephemeral-storage, limits defaulting
// to the Node's capacity); envFrom supports secretRef and configMapRef with prefix. A missing Secret,
// ConfigMap or key keeps the container waiting with reason CreateContainerConfigError and the kubelet's
// message (`secret "x" not found`, `couldn't find key k in Secret ns/x`) and is retried every second.
// command and args are $(VAR)-expanded with the final environment.
//
// # Volumes and paths
//
// Supported volumes: emptyDir, secret and configMap (items, defaultMode and per-item mode, optional),
// downwardAPI (fieldRef; resourceFieldRef as for env), projected (secret, configMap, downwardAPI and
// serviceAccountToken sources: the kube-api-access volume the ServiceAccount admission plugin adds works),
// hostPath (with its type checks; DirectoryOrCreate and FileOrCreate create), and persistentVolumeClaim,
// which maps to the bound PersistentVolume's spec.hostPath.path or spec.local.path: a PVC is a local
// directory. An unbound claim, a missing Secret or ConfigMap or an unsupported volume type keeps the Pod's
// containers waiting in ContainerCreating with a message naming the volume, retried every second. Secret and
// ConfigMap contents are written once, when the Pod starts, and not refreshed.
//
// There is no mount namespace, so paths are rewritten instead: each volumeMount's mountPath (+ subPath or
// subPathExpr, created when missing) maps to a local path, and so does the container's
// terminationMessagePath (default /dev/termination-log, a fresh empty file per run). Every arg (command[1:]
// and args), every env and envFrom value of the container and its workingDir that equals a mapped path or
// starts with it followed by "/" is rewritten to the local path, longest mapped path first, before $(VAR)
// expansion; the kubelet's own variables (HOME, KUBECONFIG, Options.Env), already local, are never rewritten,
// so "--kubeconfig=$(KUBECONFIG)" works even with an emptyDir over /tmp; for an arg of the form -flag=value or --flag=value the value is rewritten the
// same way; and an arg or env value that is a JSON object or array has every string inside it rewritten by
// the same rule (it is then re-encoded compactly with sorted keys: mailshift's worker gets its spec, with
// Secret-file and PST paths, that way). Other paths inside longer strings (e.g. in a `sh -c` script) are NOT
// rewritten: pass them as their own
// args ("sh", "-c", `cat "$1"`, "sh", "/etc/secret/key") or through env variables. A program that opens a
// hard-coded path (for instance /dev/termination-log in Go code) gets the host's path: take such paths from a
// flag or an environment variable. workingDir outside every mount maps under a per-container directory;
// empty, it is that directory. readOnly mounts are passed but not enforced (processes run as the kubelet's own
// user, typically root, so file permissions would not stop them either).
//
// After a process exits, its termination message is the last 4096 bytes of its termination-message file; with
// terminationMessagePolicy FallbackToLogsOnError, an empty file and a non-zero exit code, it is the last 80
// lines (at most 2048 bytes) of that run's log.
//
// # Service accounts
//
// Unless automountServiceAccountToken is false on the Pod (or, unset there, on its ServiceAccount), the
// kubelet requests a token for the Pod's ServiceAccount (spec.serviceAccountName, "default" when empty)
// through the TokenRequest API, bound to the Pod as the real kubelet does, writes a kubeconfig (server: the
// apiserver's URL, its CA, the token, the Pod's namespace as the context's namespace) into the Pod's
// directory and sets KUBECONFIG to it. This stands in for the projected token at
// /var/run/secrets/kubernetes.io/serviceaccount, which rest.InClusterConfig reads from hard-coded paths;
// controller-runtime's ctrl.GetConfig and kubectl honour KUBECONFIG. Tokens last an hour (or the projected
// source's expirationSeconds) and are not refreshed.
//
// # Not supported or not enforced
//
// Probes (containers are Ready as soon as they run), lifecycle hooks, sidecar init containers
// (restartPolicy Always on an init container: treated as a plain init container that must exit), ephemeral
// containers, resource limits, securityContext (except that runAsNonRoot with runAsUser 0, or with a root
// image user, is refused with CreateContainerConfigError, as the kubelet refuses it), user namespaces, networking (every Pod shares the
// host's network; hostPort and containerPort mean nothing), imagePullSecrets, `kubectl logs`/`exec` (read the log
// file instead), Node eviction and pressure. A Pod running when the kubelet starts (left by an earlier
// instance) is not re-attached: with restartPolicy Never its unfinished containers are reported terminated
// with reason ContainerStatusUnknown; otherwise they are started again.
package processkubelet
