#!/usr/bin/env bash
# Throwaway pure-ftpd 1.0.50 FTP server on 127.0.0.1, everything (users, files, pid, logs, TLS) inside DIR.
#
#   hack/pureftpd.sh start DIR PORT PASVFIRST:PASVLAST [none|allow|require|require-data]
#   hack/pureftpd.sh stop DIR
#
# PORT is the control port; passive data connections use the ports PASVFIRST..PASVLAST, and PASV/EPSV always
# answer 127.0.0.1. TLS (explicit, AUTH TLS) is
#   none          not offered (-Y 0; the default)
#   allow         offered, plaintext sessions still accepted (-Y 1)
#   require       sessions must start TLS before logging in (-Y 2)
#   require-data  as require, and data connections must be protected too (PROT P; -Y 3)
# DIR/ca.pem is the CA that signed the server certificate (SAN IP:127.0.0.1, DNS:localhost). No anonymous
# logins. Virtual users (a puredb, passwords hashed with SHA-512 crypt, since pure-pw's default argon2 costs
# seconds per login), each chrooted to its own directory:
#   publisher/publisher-secret-4  DIR/ftp/publisher, where /pub/calendar (and everything else) is writable
#   reader/reader-secret-5        DIR/ftp/reader, where nothing is writable: STOR and MKD get a real 553/550
#
# pure-ftpd comes from hack/install-deps.sh's cache ($MAILSHIFT_CACHE/pure-ftpd, unpacked from Debian's .debs:
# the package conflicts with vsftpd). This build must start as root (it chroots each session and switches
# users, privilege separation included), so it runs as root of its own user namespace, in which only that
# root and nobody (65534) exist: the master then holds no capability outside the namespace, and the FTP
# sessions run as nobody. As root, namespace root is the invoking root and 65534 is nobody; as a normal
# user, namespace root is that user and 65534 is the first id of its /etc/subuid and /etc/subgid ranges
# (newuidmap and newgidmap from Debian's uidmap are needed). Writable directories are world-writable, so that
# files the sessions create can be removed by whoever owns DIR.
#
# pure-ftpd logs only through syslog, which a test instance does without; DIR/pure-ftpd.log keeps its stderr
# and DIR/transfer.log its transfers (CLF). With MAILSHIFT_WATCH_PID set, the server is stopped once that
# process is gone.
set -euo pipefail
ME=pureftpd.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=hack/lib-servers.sh
. "$here/lib-servers.sh"

usage() {
  echo "usage: $0 start DIR PORT PASVFIRST:PASVLAST [none|allow|require|require-data] | stop DIR" >&2
  exit 2
}

cache=${MAILSHIFT_CACHE:-$top/.cache}
PUREFTPD=${PUREFTPD:-$cache/pure-ftpd/usr/sbin/pure-ftpd}
PURE_PW=${PURE_PW:-$cache/pure-ftpd/usr/bin/pure-pw}

# Test accounts (internal/testserver depends on these exact values).
FTP_USERS=(publisher reader)
declare -A FTP_PASS=([publisher]=publisher-secret-4 [reader]=reader-secret-5)
# The uid and gid the sessions run as inside the namespace.
FTP_ID=65534

# write_users DIR: the puredb with both accounts and their chroot directories.
write_users() {
  local d=$1 u hash
  mkdir -p "$d/users"
  # Everything the publisher sees is writable; the reader's tree is owned by the namespace's root and not
  # writable by the sessions (nobody), so its uploads fail in the kernel, not by a server rule.
  mkdir -p "$d/ftp/publisher/pub/calendar" "$d/ftp/reader/pub/calendar"
  chmod 0777 "$d/ftp/publisher" "$d/ftp/publisher/pub" "$d/ftp/publisher/pub/calendar"
  chmod 0755 "$d/ftp/reader" "$d/ftp/reader/pub" "$d/ftp/reader/pub/calendar"
  # pure-pw's passwd format: login:hash:uid:gid:gecos:home:<12 limit fields>. "/./" at the end of home
  # chroots the session there.
  : >"$d/users/passwd.tmp"
  chmod 0600 "$d/users/passwd.tmp"
  for u in "${FTP_USERS[@]}"; do
    hash=$(openssl passwd -6 "${FTP_PASS[$u]}") || ms_die "openssl passwd -6 failed"
    echo "$u:$hash:$FTP_ID:$FTP_ID::$d/ftp/$u/./::::::::::::" >>"$d/users/passwd.tmp"
  done
  mv "$d/users/passwd.tmp" "$d/users/passwd"
  rm -f "$d/users/pureftpd.pdb"
  "$PURE_PW" mkdb "$d/users/pureftpd.pdb" -f "$d/users/passwd" >/dev/null ||
    ms_die "pure-pw mkdb failed"
}

# map_ids PID: writes the namespace's uid and gid maps for PID (see the header). Each map must be written
# with a single write(2), hence echo -n of the whole text. Writing them from outside, rather than with
# `unshare --map-root-user`, keeps setgroups(2) allowed inside: pure-ftpd calls it for every login.
map_ids() {
  local pid=$1 me
  me=$(id -u)
  if [ "$me" -eq 0 ]; then
    echo -n $'0 0 1\n'"$FTP_ID $FTP_ID 1"$'\n' >"/proc/$pid/uid_map"
    echo -n $'0 0 1\n'"$FTP_ID $FTP_ID 1"$'\n' >"/proc/$pid/gid_map"
    return 0
  fi
  local name sub subg
  name=$(id -un)
  sub=$(awk -F: -v u="$name" -v id="$me" '($1 == u || $1 == id) && $3 > 0 { print $2; exit }' /etc/subuid 2>/dev/null) || true
  subg=$(awk -F: -v u="$name" -v id="$me" '($1 == u || $1 == id) && $3 > 0 { print $2; exit }' /etc/subgid 2>/dev/null) || true
  if [ -z "$sub" ] || [ -z "$subg" ] || ! command -v newuidmap >/dev/null || ! command -v newgidmap >/dev/null; then
    ms_die "as a normal user pure-ftpd needs newuidmap/newgidmap (Debian: uidmap) and a range for $name in /etc/subuid and /etc/subgid; or run as root"
  fi
  newuidmap "$pid" 0 "$me" 1 "$FTP_ID" "$sub" 1 || ms_die "newuidmap failed"
  newgidmap "$pid" 0 "$(id -g)" 1 "$FTP_ID" "$subg" 1 || ms_die "newgidmap failed"
}

# ftp_greeting PORT: true when 127.0.0.1:PORT answers with a complete FTP "220" greeting within 2 s.
ftp_greeting() {
  (
    exec 2>/dev/null
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    local l
    while IFS= read -r -t 2 l <&3; do
      case $l in
      "220 "*)
        printf 'QUIT\r\n' >&3
        exit 0
        ;;
      "220-"*) ;;
      *) exit 1 ;;
      esac
    done
    exit 1
  )
}

# ftp_tls_ok PORT CAFILE: true when AUTH TLS on 127.0.0.1:PORT completes a handshake verified against CAFILE
# (so it is this instance, not some other listener).
ftp_tls_ok() {
  local out
  out=$(printf 'QUIT\r\n' | timeout 3 openssl s_client -starttls ftp -connect "127.0.0.1:$1" -CAfile "$2" \
    -verify_return_error -verify_ip 127.0.0.1 -brief 2>&1) || return 1
  [[ $out == *"Verification: OK"* ]]
}

# wait_ftp PORT PIDFILE TLS CAFILE LOG...: waits until PORT greets (and, with TLS, completes a verified
# handshake); fails with the logs' tails if the server died or the timeout passed.
wait_ftp() {
  local port=$1 pidfile=$2 tls=$3 ca=$4
  shift 4
  local deadline=$((SECONDS + MS_START_TIMEOUT))
  while :; do
    if ftp_greeting "$port" && { [ "$tls" = none ] || ftp_tls_ok "$port" "$ca"; }; then return 0; fi
    if ! ms_alive "$pidfile"; then ms_fail "pure-ftpd exited before accepting connections on 127.0.0.1:$port" "$@"; fi
    [ $SECONDS -lt $deadline ] ||
      ms_fail "no FTP greeting (tls $tls) on 127.0.0.1:$port after ${MS_START_TIMEOUT}s (port taken?)" "$@"
    sleep 0.05
  done
}

start() {
  [ $# -eq 3 ] || [ $# -eq 4 ] || usage
  local d port=$2 pasv=$3 tls=${4:-none}
  ms_port_ok "$port" PORT
  [[ $pasv =~ ^([0-9]+):([0-9]+)$ ]] || ms_die "bad PASVFIRST:PASVLAST: '$pasv'"
  local pfirst=${BASH_REMATCH[1]} plast=${BASH_REMATCH[2]}
  ms_port_ok "$pfirst" PASVFIRST
  ms_port_ok "$plast" PASVLAST
  [ "$pfirst" -le "$plast" ] || ms_die "PASVFIRST $pfirst is above PASVLAST $plast"
  local y
  case $tls in
  none) y=0 ;;
  allow) y=1 ;;
  require) y=2 ;;
  require-data) y=3 ;;
  *) ms_die "TLS must be none, allow, require or require-data, not '$tls'" ;;
  esac
  [ -x "$PUREFTPD" ] || ms_die "$PUREFTPD not found: run hack/install-deps.sh ftp"
  [ -x "$PURE_PW" ] || ms_die "$PURE_PW not found: run hack/install-deps.sh ftp"
  command -v unshare >/dev/null || ms_die "unshare (util-linux) not found"
  d=$(ms_abs "$1")
  local pidfile=$d/run/master.pid
  if ms_alive "$pidfile"; then ms_die "already running in $d (pid $(cat "$pidfile"))"; fi
  ms_ports_free "$port"
  mkdir -p "$d/run"
  ms_certs "$d"
  write_users "$d"

  # Why each flag: -S listen on loopback only; -p/-P passive ports in the given range, announced as
  # 127.0.0.1; -E no anonymous logins; -A chroot every session (puredb homes ending in /./ already do);
  # -H no reverse DNS of clients; -U 133:000 files 0644, directories 0777 (see the header); -f none: no
  # syslog; -O a transfer log; -g its own pid file (the default is /var/run/pure-ftpd.pid; the one this
  # script watches is written here, since pure-ftpd truncates and rewrites its own); -c room for 16
  # concurrent sessions (pure-ftpd caps it at half the passive ports); -Y the TLS policy; -2 certificate and
  # key; -J Debian's packaged cipher list (/etc/pure-ftpd/conf/TLSCipherSuite).
  local args=(-S "127.0.0.1,$port" -p "$pfirst:$plast" -P 127.0.0.1 -l "puredb:$d/users/pureftpd.pdb"
    -E -A -H -U 133:000 -f none -O "clf:$d/transfer.log" -g "$d/run/pure-ftpd.pid" -c 16 -Y "$y")
  if [ "$y" -gt 0 ]; then args+=(-2 "$d/server.pem,$d/server.key" -J HIGH); fi

  echo "==== $(date '+%F %T') start port=$port pasv=$pasv tls=$tls" >>"$d/pure-ftpd.log"
  rm -f "$d/run/go"
  mkfifo "$d/run/go"
  # The launcher enters a new user namespace, then waits on the fifo until its id maps are written from
  # here, then becomes pure-ftpd, in the foreground of its own session (setsid), so that stopping its
  # process group also ends the sessions it forked.
  # shellcheck disable=SC2016 # expanded by the launched shell
  setsid unshare --user -- bash -c 'read -r _ <"$1" && exec "${@:2}"' pureftpd-launch "$d/run/go" \
    "$PUREFTPD" "${args[@]}" </dev/null >>"$d/pure-ftpd.log" 2>&1 &
  local spid=$! i
  # setsid execs (the launcher is not a process group leader), so $! is the future pure-ftpd.
  for ((i = 0; i < 250; i++)); do
    [ "$(readlink "/proc/$spid/ns/user" 2>/dev/null)" != "$(readlink /proc/self/ns/user)" ] && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.02
  done
  if [ "$(readlink "/proc/$spid/ns/user" 2>/dev/null)" = "$(readlink /proc/self/ns/user)" ]; then
    kill -KILL "$spid" 2>/dev/null || true
    rm -f "$d/run/go"
    ms_fail "the launcher did not enter a user namespace ('unshare --user' failed?)" "$d/pure-ftpd.log"
  fi
  if ! (map_ids "$spid"); then
    kill -KILL "$spid" 2>/dev/null || true
    rm -f "$d/run/go"
    exit 1
  fi
  echo "$spid" >"$pidfile"
  # Opening a fifo blocks until the other end opens it: bounded, in case the launcher died meanwhile.
  # shellcheck disable=SC2016 # expanded by the child shell
  if ! timeout 10 bash -c 'echo go >"$1"' pureftpd-go "$d/run/go"; then
    rm -f "$d/run/go"
    ms_stop "$pidfile" pure-ftpd
    ms_fail "the launcher did not take the go-ahead" "$d/pure-ftpd.log"
  fi
  rm -f "$d/run/go"
  if ! (wait_ftp "$port" "$pidfile" "$tls" "$d/ca.pem" "$d/pure-ftpd.log"); then
    ms_stop "$pidfile" pure-ftpd
    exit 1
  fi
  ms_watchdog "$pidfile" "$here/pureftpd.sh" stop "$d"
  echo "pure-ftpd running: pid $(cat "$pidfile"), ftp 127.0.0.1:$port, passive $pfirst-$plast, tls $tls, CA $d/ca.pem"
}

ms_main pure-ftpd "$@"
