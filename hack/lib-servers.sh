# shellcheck shell=bash
# Shared helpers for hack/dovecot.sh and hack/cyrus.sh. Source it; it defines functions only.
#
# Test accounts (tests and the demo depend on these exact values):
#   alice/alice-secret-1  bob/bob-secret-2  carol/carol-secret-3   admin: mailadmin/admin-secret-0
# Addresses are <login>@example.test.

# shellcheck disable=SC2034 # used by the scripts that source this file
MS_USERS=(alice bob carol)
# shellcheck disable=SC2034
declare -A MS_PASS=([alice]=alice-secret-1 [bob]=bob-secret-2 [carol]=carol-secret-3 [mailadmin]=admin-secret-0)
# shellcheck disable=SC2034
MS_ADMIN=mailadmin
MS_START_TIMEOUT=${MS_START_TIMEOUT:-30}

ms_die() {
  echo "$ME: $*" >&2
  exit 1
}

# ms_abs DIR: prints DIR as an absolute path, creating it.
ms_abs() {
  mkdir -p "$1"
  (cd "$1" && pwd)
}

# ms_port_ok VALUE NAME
ms_port_ok() {
  if ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -le 0 ] || [ "$1" -ge 65536 ]; then ms_die "bad $2: '$1'"; fi
}

# ms_certs DIR: writes DIR/ca.pem (throwaway CA) and DIR/server.pem + DIR/server.key, a server certificate for
# 127.0.0.1 and localhost signed by that CA. Kept if already there (restarts keep the same trust anchor).
ms_certs() {
  local d=$1
  [ -s "$d/ca.pem" ] && [ -s "$d/server.pem" ] && [ -s "$d/server.key" ] && return 0
  local t=$d/tls
  mkdir -p "$t"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/O=mailshift test/CN=mailshift throwaway CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$t/ca.key" -out "$t/ca.pem" >/dev/null 2>&1 || ms_die "openssl: cannot create CA"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/O=mailshift test/CN=localhost" -keyout "$t/server.key" -out "$t/server.csr" >/dev/null 2>&1 ||
    ms_die "openssl: cannot create server key"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$t/server.ext"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 3650 \
    -extfile "$t/server.ext" -out "$t/server.pem" >/dev/null 2>&1 || ms_die "openssl: cannot sign server cert"
  chmod 0600 "$t/server.key" "$t/ca.key"
  cp "$t/server.key" "$d/server.key"
  cp "$t/server.pem" "$d/server.pem"
  cp "$t/ca.pem" "$d/ca.pem"
}

# ms_runas: sets MS_USER, MS_GROUP, MS_UID, MS_GID (the identity the server runs as) and MS_RUN (a command prefix).
# As a normal user the server runs as that user. As root it runs inside a user namespace where root is mapped
# to nobody/nogroup (65534): servers that refuse root (Dovecot's login processes, mail uid 0) then run without
# switching users, still own the root-owned files in DIR, and nothing needs chmod or chown.
ms_runas() {
  if [ "$(id -u)" -ne 0 ]; then
    MS_USER=$(id -un) MS_GROUP=$(id -gn) MS_UID=$(id -u) MS_GID=$(id -g)
    MS_RUN=()
    return 0
  fi
  MS_UID=65534 MS_GID=65534
  MS_USER=$(getent passwd $MS_UID | cut -d: -f1)
  MS_GROUP=$(getent group $MS_GID | cut -d: -f1)
  if [ -z "$MS_USER" ] || [ -z "$MS_GROUP" ]; then ms_die "no user/group with id $MS_UID to map root to"; fi
  command -v unshare >/dev/null || ms_die "unshare (util-linux) not found"
  MS_RUN=(unshare --user "--map-user=$MS_UID" "--map-group=$MS_GID" --)
  "${MS_RUN[@]}" true 2>/dev/null ||
    ms_die "running as root needs user namespaces ('unshare --user' failed): run as a normal user instead"
}

# ms_rundir DIR NAME: prints a directory for the server's unix sockets. DIR/NAME when its path is short enough
# for sockets (sun_path is 108 bytes), otherwise a fresh /tmp/mailshift-run.XXXXXX that DIR/NAME links to
# (ms_rmrundir removes it).
ms_rundir() {
  local d=$1 name=$2
  ms_rmrundir "$d" "$name"
  if [ ${#d} -le 60 ]; then
    mkdir -p "$d/$name"
    echo "$d/$name"
    return 0
  fi
  local t
  t=$(mktemp -d /tmp/mailshift-run.XXXXXX)
  chmod 0755 "$t"
  ln -s "$t" "$d/$name"
  echo "$t"
}

ms_rmrundir() {
  local l=$1/$2 t
  if [ -L "$l" ]; then
    t=$(readlink "$l")
    case $t in /tmp/mailshift-run.*) rm -rf "$t" ;; esac
    rm -f "$l"
  fi
}

# ms_running PID: true while PID exists and is not a zombie (an exited server whose parent, often init here,
# has not reaped it yet still answers kill -0).
ms_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  case ${stat:0:1} in Z | X) return 1 ;; esac
  return 0
}

# ms_alive PIDFILE: true when the process recorded in PIDFILE runs.
ms_alive() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && ms_running "$pid"
}

# ms_greeting PORT: true when 127.0.0.1:PORT answers with an IMAP "* OK" greeting within 2 s.
ms_greeting() {
  local line
  line=$(
    exec 2>/dev/null
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    IFS= read -r -t 2 l <&3 || exit 1
    printf 'a LOGOUT\r\n' >&3
    printf '%s' "$l"
  ) || return 1
  [[ $line == "* OK"* ]]
}

# ms_wait PORT PIDFILE LOG...: waits until PORT greets; fails with the logs' tails if the server died or the
# timeout passed.
ms_wait() {
  local port=$1 pidfile=$2
  shift 2
  local deadline=$((SECONDS + MS_START_TIMEOUT))
  while :; do
    if ms_greeting "$port"; then return 0; fi
    if [ -n "$pidfile" ] && [ -e "$pidfile.started" ] && ! ms_alive "$pidfile"; then
      ms_fail "server exited before accepting connections on 127.0.0.1:$port" "$@"
    fi
    [ $SECONDS -lt $deadline ] || ms_fail "no IMAP greeting on 127.0.0.1:$port after ${MS_START_TIMEOUT}s" "$@"
    sleep 0.05
  done
}

# ms_wait_tls PORT CAFILE LOG...: waits until 127.0.0.1:PORT completes a TLS handshake verified against CAFILE
# (so it is this instance, not some other listener) and greets with "* OK".
ms_wait_tls() {
  local port=$1 ca=$2
  shift 2
  local deadline=$((SECONDS + MS_START_TIMEOUT)) out
  while :; do
    # -quiet implies -ign_eof: s_client ends when the server closes the connection after LOGOUT.
    out=$(printf 'a LOGOUT\r\n' | timeout 3 openssl s_client -connect "127.0.0.1:$port" -CAfile "$ca" \
      -verify_return_error -verify_ip 127.0.0.1 -quiet 2>/dev/null | head -n 1) || true
    [[ $out == "* OK"* ]] && return 0
    [ $SECONDS -lt $deadline ] ||
      ms_fail "no verified TLS IMAP greeting on 127.0.0.1:$port after ${MS_START_TIMEOUT}s (port taken?)" "$@"
    sleep 0.05
  done
}

# ms_fail MSG LOG...: prints MSG and the tail of each log, then exits 1.
ms_fail() {
  local msg=$1
  shift
  echo "$ME: $msg" >&2
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    echo "---- tail of $f ----" >&2
    tail -n 40 "$f" >&2
  done
  exit 1
}

# ms_stop PIDFILE NAME: sends TERM to the recorded PID, or to its whole process group when it leads one (both
# Dovecot's master and the setsid-started Cyrus master do), waits up to 10 s, then KILLs. Never matches
# processes by name: other instances run concurrently.
ms_stop() {
  local pidfile=$1 name=$2 pid target
  pid=$(cat "$pidfile" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || ms_die "bad pid file $pidfile"
  if ! ms_running "$pid"; then
    rm -f "$pidfile" "$pidfile.started"
    return 0
  fi
  target=$pid
  local stat fields
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || stat=
  # Fields after "(comm)": state ppid pgrp ...
  read -r -a fields <<<"${stat##*) }"
  if [ "${fields[2]:-}" = "$pid" ]; then target=-$pid; fi
  kill -TERM -- "$target" 2>/dev/null || true
  # Both masters stop their children before they exit themselves.
  local i
  for ((i = 0; i < 500; i++)); do
    ms_running "$pid" || break
    sleep 0.02
  done
  if ms_running "$pid"; then
    echo "$ME: $name (pid $pid) did not stop on TERM within 10s; sending KILL" >&2
  fi
  # Whatever is left of the group (nothing, normally) goes too.
  kill -KILL -- "$target" 2>/dev/null || true
  rm -f "$pidfile" "$pidfile.started"
}

# ms_ports_free PORT...: fails fast when something already accepts connections on 127.0.0.1:PORT.
ms_ports_free() {
  local p
  for p in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      ms_die "port $p on 127.0.0.1 is already in use"
    fi
  done
}

# ms_watchdog PIDFILE STOP-COMMAND...: when $MAILSHIFT_WATCH_PID is set, starts a detached loop that runs
# STOP-COMMAND once that process is gone (a test binary killed before its cleanup ran). The loop ends by
# itself when the server stops.
ms_watchdog() {
  local watch=${MAILSHIFT_WATCH_PID:-}
  [ -n "$watch" ] || return 0
  [[ $watch =~ ^[0-9]+$ ]] || ms_die "bad MAILSHIFT_WATCH_PID '$watch'"
  local pidfile=$1 spid
  shift
  spid=$(cat "$pidfile")
  # shellcheck disable=SC2016 # the loop's variables expand in the child shell
  setsid bash -c '
    watch=$1 spid=$2 pidfile=$3
    shift 3
    while [ "$(cat "$pidfile" 2>/dev/null)" = "$spid" ] && kill -0 "$spid" 2>/dev/null; do
      if ! kill -0 "$watch" 2>/dev/null; then
        "$@"
        exit 0
      fi
      sleep 1
    done
  ' ms-watchdog "$watch" "$spid" "$pidfile" "$@" </dev/null >/dev/null 2>&1 &
}

# ms_stop_instance DIR NAME: stops the server whose master process is recorded in DIR/run/master.pid and
# removes its run directory. A DIR that does not exist is already stopped.
ms_stop_instance() {
  [ -d "$1" ] || return 0
  local d
  d=$(cd "$1" && pwd)
  ms_stop "$d/run/master.pid" "$2"
  ms_rmrundir "$d" run
}

# ms_main NAME ARGS...: the start|stop command line shared by the server scripts; they define start and usage.
ms_main() {
  local name=$1 cmd=${2:-}
  shift 2 || shift $#
  case $cmd in
  start) start "$@" ;;
  stop) [ $# -eq 1 ] || usage; ms_stop_instance "$1" "$name" ;;
  *) usage ;;
  esac
}
