#!/usr/bin/env bash
# Installs what the throwaway test servers need (hack/dovecot.sh, hack/cyrus.sh, hack/pureftpd.sh),
# idempotently and non-interactively, on Debian 12 as root.
#
#   hack/install-deps.sh [GROUP|PACKAGE ...]
#
# With no argument the group "imap" is installed. Each argument is either a group name defined in PKG_GROUPS below
# or a plain Debian package name. `apt-get update` runs only when something is missing.
#
# Debian's cyrus-imapd conflicts with dovecot-imapd (both provide imap-server), so Cyrus's imapd is not
# installed: its .deb is fetched with `apt-get download` and unpacked with `dpkg -x` into
# $MAILSHIFT_CACHE/cyrus-imapd (default <repo>/.cache/cyrus-imapd); its libraries come from cyrus-common.
# Debian's pure-ftpd conflicts with vsftpd (both provide ftp-server) and its package scripts want inetd, so
# the group "ftp" installs only the libraries the server links against and unpacks pure-ftpd and
# pure-ftpd-common (for pure-pw) the same way, into $MAILSHIFT_CACHE/pure-ftpd.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${MAILSHIFT_CACHE:-$top/.cache}

declare -A PKG_GROUPS=(
  [imap]="dovecot-imapd dovecot-core cyrus-common cyrus-admin sasl2-bin openssl"
  # readpst, the peer the PST reader is checked and benchmarked against; GNU time for peak RSS.
  [pst]="pst-utils time"
  # Independent parsers the conversion tests check their output with (internal/oracle): Python's email
  # package, libkolabxml's Kolab v3 reader, icalendar, vobject and dateutil for recurrence expansion.
  [oracle]="python3 python3-kolabformat python3-icalendar python3-vobject python3-dateutil"
  # What Debian's pure-ftpd binary links against (its Depends without inetd and lsb-base); the server itself
  # is unpacked below. openssl makes the test certificates and the password hashes.
  [ftp]="openssl libcap2 libcrypt1 libpam0g libsodium23 libssl3"
  # The Outlook connector: mingw-w64 cross-compilers for the 64- and 32-bit DLL, Wine to run both in tests
  # (wine32 is an i386 package: the architecture is added to dpkg first), msitools and wixl to build and read
  # the MSIs, osslsigncode for their Authenticode signatures, Xvfb for the settings dialog.
  [wine]="wine64 wine32:i386 gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 msitools wixl osslsigncode xvfb"
)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(imap)

pkgs=()
want_cyrus_imapd=0
want_pureftpd=0
for g in "${groups[@]}"; do
  if [ -n "${PKG_GROUPS[$g]+x}" ]; then
    # shellcheck disable=SC2206
    pkgs+=(${PKG_GROUPS[$g]})
    [ "$g" = imap ] && want_cyrus_imapd=1
    [ "$g" = ftp ] && want_pureftpd=1
  else
    pkgs+=("$g")
  fi
done

# Test binaries of several packages run in parallel and may all call this at once: one at a time, each
# deciding what is missing only once the one before it is done.
mkdir -p "$cache"
if command -v flock >/dev/null; then
  exec 9>"$cache/.install-deps.lock"
  flock 9
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done

pureftpd_ok() {
  [ -x "$cache/pure-ftpd/usr/sbin/pure-ftpd" ] && [ -x "$cache/pure-ftpd/usr/bin/pure-pw" ]
}

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if [ ${#missing[@]} -gt 0 ] || { [ $want_cyrus_imapd = 1 ] && [ ! -x "$cache/cyrus-imapd/usr/lib/cyrus/bin/imapd" ]; } ||
    { [ $want_pureftpd = 1 ] && ! pureftpd_ok; }; then
    command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; missing: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
fi

updated=0
apt_update() {
  [ $updated = 1 ] && return 0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  updated=1
}

# A package of another architecture (wine32:i386) needs that architecture in dpkg before apt's lists know it.
for p in "${missing[@]}"; do
  arch=${p##*:}
  if [ "$arch" != "$p" ] && [ "$arch" != "$(dpkg --print-architecture)" ] &&
    ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    echo "install-deps: adding the $arch architecture to dpkg" >&2
    "${sudo[@]}" dpkg --add-architecture "$arch"
    updated=0 # the lists must be read again, with the new architecture's
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  apt_update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2
fi

if [ $want_cyrus_imapd = 1 ] && [ ! -x "$cache/cyrus-imapd/usr/lib/cyrus/bin/imapd" ]; then
  echo "install-deps: unpacking cyrus-imapd into $cache/cyrus-imapd" >&2
  # Match the cyrus-common version so imapd links against the same libraries.
  ver=$(dpkg-query -W -f='${Version}' cyrus-common)
  dl=$(mktemp -d "${TMPDIR:-/tmp}/mailshift-deb.XXXXXX")
  trap 'rm -rf "$dl"' EXIT
  # apt-get download writes into the current directory; as root it may drop privileges to _apt, so make the
  # directory writable for it.
  chmod 0777 "$dl"
  if ! (cd "$dl" && apt-get download -qq "cyrus-imapd=$ver" >&2 2>/dev/null); then
    apt_update
    (cd "$dl" && apt-get download -qq "cyrus-imapd=$ver" >&2)
  fi
  mkdir -p "$cache"
  rm -rf "$cache/cyrus-imapd.tmp"
  dpkg -x "$dl"/cyrus-imapd_*.deb "$cache/cyrus-imapd.tmp"
  rm -rf "$cache/cyrus-imapd"
  mv "$cache/cyrus-imapd.tmp" "$cache/cyrus-imapd"
  test -x "$cache/cyrus-imapd/usr/lib/cyrus/bin/imapd"
fi

if [ $want_pureftpd = 1 ] && ! pureftpd_ok; then
  echo "install-deps: unpacking pure-ftpd into $cache/pure-ftpd" >&2
  dlf=$(mktemp -d "${TMPDIR:-/tmp}/mailshift-deb.XXXXXX")
  # shellcheck disable=SC2064 # expand now: a cyrus-imapd download above may have set its own trap
  trap "rm -rf '${dl:-}' '$dlf'" EXIT
  chmod 0777 "$dlf"
  if ! (cd "$dlf" && apt-get download -qq pure-ftpd >&2 2>/dev/null); then
    apt_update
    (cd "$dlf" && apt-get download -qq pure-ftpd >&2)
  fi
  # pure-ftpd pins the exact pure-ftpd-common it was built with ("pure-ftpd-common (= VERSION)"); a binNMU
  # gives the two different versions, so read it from the .deb rather than from pure-ftpd's own version.
  common=$(dpkg-deb -f "$dlf"/pure-ftpd_*.deb Depends | tr ',' '\n' | sed -n 's/^ *pure-ftpd-common (= \(.*\))$/\1/p')
  [ -n "$common" ] || { echo "install-deps: cannot tell which pure-ftpd-common pure-ftpd needs" >&2; exit 1; }
  if ! (cd "$dlf" && apt-get download -qq "pure-ftpd-common=$common" >&2 2>/dev/null); then
    apt_update
    (cd "$dlf" && apt-get download -qq "pure-ftpd-common=$common" >&2)
  fi
  mkdir -p "$cache"
  rm -rf "$cache/pure-ftpd.tmp"
  dpkg -x "$dlf"/pure-ftpd_*.deb "$cache/pure-ftpd.tmp"
  dpkg -x "$dlf"/pure-ftpd-common_*.deb "$cache/pure-ftpd.tmp"
  rm -rf "$cache/pure-ftpd"
  mv "$cache/pure-ftpd.tmp" "$cache/pure-ftpd"
  pureftpd_ok
fi
