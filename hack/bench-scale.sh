#!/usr/bin/env bash
# bench-scale.sh: the manager at scale (hack/benchscale): a real control plane, one real Dovecot with a user per
# Mailbox, a real pure-ftpd, and the manager binary as its own process. Applies SCALE_MAILBOXES Mailboxes,
# SCALE_SHARES FolderShares and SCALE_PUBLICATIONS FreeBusyPublications at once; prints the time until all
# are Ready, reconciles and IMAP logins per minute over a steady-state window, and the manager's RSS, with the
# targets (RSS < 256 MiB; at most one login per object per resync period) beside them.
#
# Env: SCALE_MAILBOXES (1000), SCALE_SHARES (1000), SCALE_PUBLICATIONS (200), SCALE_POLICIES (0: SyncPolicies,
#      each two-way from a user's INBOX to a folder of the next user, every SCALE_RESYNC), SCALE_WINDOW (4m),
#      SCALE_RESYNC (2m: every object's own check/resync period), SCALE_READY_TIMEOUT (5m),
#      SCALE_KEEP=1 keeps the work directory (manager.log, dovecot/dovecot.log, kubeconfig),
#      SCALE_MANAGER: a manager binary to measure instead of one built from this tree (e.g. an older one).
# Exit: 0 when every target was met, 3 when it measured and missed a target (the table marks it MISSED),
#       1 when not everything became Ready or something failed to start, 2 on bad parameters.
set -euo pipefail
cd "$(dirname "$0")/.."
export MAILSHIFT_CACHE="${MAILSHIFT_CACHE:-$PWD/.cache}"
export KUBEBUILDER_ASSETS="${KUBEBUILDER_ASSETS:-$MAILSHIFT_CACHE/controlplane/bin}"
for b in etcd kube-apiserver; do
  [[ -x "$KUBEBUILDER_ASSETS/$b" ]] || { echo "bench-scale: no $b in $KUBEBUILDER_ASSETS: run 'make controlplane'" >&2; exit 1; }
done
bash hack/install-deps.sh imap ftp
go build -o "$MAILSHIFT_CACHE/bin/benchscale" ./hack/benchscale
exec "$MAILSHIFT_CACHE/bin/benchscale"
