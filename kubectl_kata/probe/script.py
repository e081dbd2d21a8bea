"""The node collection script run as ``oc debug node/N -- chroot /host sh -c '<script>'``.

POSIX sh, needs only coreutils (mktemp, base64, timeout, sort), grep and the node's own tools
(rpm, rpm-ostree, systemctl). Every item runs as one command with its own redirections into temp
files under a ``mktemp -d`` directory that a trap removes; the results are printed in the framed
format of :mod:`kubectl_kata.probe.framing`. Nothing else is written to stdout: the script's own
stderr is captured and, when not empty, reported as the extra item ``_script``.

Commands run in the background under ``wait`` so that SIGTERM (the pod being deleted) is acted
on at once: the running command is killed and the temp directory removed.

Each item is bounded by coreutils ``timeout`` (exit 124 plus a note on stderr) so one stuck
command (e.g. rpm-ostree waiting for its daemon) cannot eat the whole per-node budget.

Design notes (DOMAIN.md 4.4-4.6, 6.1):
- ``rpm -qa --qf '[...]'``: scalar tags inside an array iterator must be written ``%{=NAME}``;
  plain ``%{NAME}`` next to ``%{PROVIDENAME}`` fails with "array iterator used with different
  sized arrays" on current rpm (rpm ``lib/headerfmt.c``).
- ``rpm-file-provides``: one ``<path>\\t<owner name>`` line per owner of every file path that
  appears as a requirement; ``<path>\\t`` (empty owner) when no installed package owns it.
- ``rpm-V``: ``rpm -V kata-containers`` plus every installed ``qemu*`` / ``virtiofsd`` package.
- ``paths``: ``<path>\\tpresent|absent`` (a dangling symlink counts as present).
- ``base-rpmdb``: ``rpm-ostree db list <checksum>``, one call per ``base-checksum`` in ``rpm-ostree status --json``
  (the base OS image's packages, before layering; DOMAIN 4.6). Each prints ``ostree commit: <checksum>`` and one
  `` <nevra>`` line per package (rpm-ostree ``src/app/rpmostree-db-builtin-list.cxx``); one call each, because
  ``db list`` takes the first argument that does not resolve to a commit, and all after it, as name patterns.
  Exit 3 with a note when no deployment is layered.
- ``base-meta``: ``/usr/share/openshift/base/meta.json`` (``rpmdb.pkglist`` of the base image; newest RHCOS only,
  so cat exits 1 on older nodes). Both tell doctor which packages are the base OS, not the extension's business.
"""
from __future__ import annotations

import base64
import secrets
from typing import Tuple

from kubectl_kata.probe.framing import FramingError, marker

__all__ = [
    "COLLECTION_KEYS",
    "PROBED_PATHS",
    "SCRIPT_ITEM_KEY",
    "DEFAULT_ITEM_TIMEOUT_S",
    "build_script",
    "new_nonce",
]

SCRIPT_ITEM_KEY = "_script"
DEFAULT_ITEM_TIMEOUT_S = 120

PROBED_PATHS: Tuple[str, ...] = (
    "/usr/bin/containerd-shim-kata-v2",
    "/usr/bin/kata-runtime",
    "/usr/bin/kata-monitor",
    "/usr/libexec/qemu-kvm",
    "/usr/libexec/qemu-kiwi",
    "/usr/bin/qemu-system-x86_64",
    "/usr/libexec/virtiofsd",
    "/dev/kvm",
    "/etc/crio/crio.conf.d/50-kata",
    "/etc/crio/crio.conf.d/50-kata.conf",
    "/etc/yum.repos.d/packages.repo",
    "/opt/kata-install",
    "/usr/local/kata",
    "/etc/systemd/system/kata-osbuilder-generate.service",
    "/var/cache/kata-containers/vmlinuz.container",
    "/var/cache/kata-containers/kata-containers-initrd.img",
)

COLLECTION_KEYS: Tuple[str, ...] = (
    "os-release",
    "uname-r",
    "uname-m",
    "rpm-ostree-status",
    "rpm-qa",
    "rpm-provides",
    "rpm-requires",
    "rpm-file-provides",
    "rpm-V",
    "kata-runtime-version",
    "shim-version",
    "kata-monitor-version",
    "kata-env",
    "paths",
    "crio-50-kata",
    "crio-50-kata.conf",
    "cpu-flags",
    "osbuilder-unit",
    "osbuilder-images",
    "base-rpmdb",
    "base-meta",
)

_B64 = lambda s: base64.b64encode(s.encode("ascii")).decode("ascii")  # noqa: E731

# {M} marker, {IT} item timeout, {PATHS} path list, {E_*} precomputed base64 messages.
_TEMPLATE = r"""# kubectl-kata doctor node collection script (framing v1)
set -f
LC_ALL=C; export LC_ALL
PATH="${PATH:-/usr/bin:/bin}:/usr/sbin:/usr/bin:/sbin:/bin"; export PATH
M='{M}'
IT={IT}
fatal() {
  printf '%s BEGIN v1\n%s ITEM {SCRIPT_KEY} rc=%s out= err=%s\n%s END\n' "$M" "$M" "$1" "$2" "$M"
  exit 0
}
command -v base64 >/dev/null 2>&1 || fatal 127 '{E_BASE64}'
T=$(mktemp -d "${TMPDIR:-/tmp}/kata-doctor.XXXXXXXX" 2>/dev/null) || fatal 1 '{E_MKTEMP}'
CH=
trap 'if [ -n "$CH" ]; then kill "$CH" 2>/dev/null; fi; rm -rf "$T"' EXIT
trap 'exit 129' HUP
trap 'exit 141' PIPE
trap 'exit 130' INT
trap 'exit 143' TERM
exec 2>"$T/_script.err" </dev/null
if timeout -k 1 5 true >/dev/null 2>&1; then HT=1; else HT=; fi
printf '%s BEGIN v1\n' "$M"

to() {
  if [ -n "$HT" ]; then timeout -k 5 "$IT" "$@"; else "$@"; fi
}
emit() {
  printf '%s ITEM %s rc=%s out=' "$M" "$1" "$2"
  base64 -w0 <"$T/o"
  printf ' err='
  base64 -w0 <"$T/e"
  printf '\n'
}
# Each command runs in the background and the shell waits for it: a shell defers traps while a
# foreground child runs, but `wait` returns at once on a trapped signal, so SIGTERM (pod
# deletion) ends the script now, stops the running command and removes the temp directory.
run() {
  k=$1; shift
  to "$@" >"$T/o" 2>"$T/e" </dev/null &
  CH=$!
  wait "$CH"
  rc=$?
  CH=
  if [ "$rc" -eq 124 ] && [ -n "$HT" ]; then
    printf 'kata-doctor: timed out after %ss\n' "$IT" >>"$T/e"
  fi
  emit "$k" "$rc"
}
fn() {
  k=$1; shift
  "$@" >"$T/o" 2>"$T/e" </dev/null &
  CH=$!
  wait "$CH"
  rc=$?
  CH=
  emit "$k" "$rc"
}

file_provides() {
  to rpm -qa --requires >"$T/req" || return $?
  grep '^/' "$T/req" | sort -u >"$T/paths"
  while IFS= read -r p; do
    if o=$(to rpm -qf --qf '%{NAME}\n' "$p" 2>/dev/null); then
      printf '%s\n' "$o" | while IFS= read -r n; do
        [ -n "$n" ] && printf '%s\t%s\n' "$p" "$n"
      done
    else
      printf '%s\t\n' "$p"
    fi
  done <"$T/paths"
  return 0
}
rpm_verify() {
  pk=$(to rpm -qa --qf '%{NAME}\n' 'qemu*' 'virtiofsd' | sort -u)
  to rpm -V kata-containers $pk
}
base_rpmdb() {
  to rpm-ostree status --json >"$T/st" || return $?
  cs=$(grep -o '"base-checksum"[[:space:]]*:[[:space:]]*"[0-9a-f]*"' "$T/st" | grep -o '[0-9a-f]\{64\}' | sort -u)
  if [ -z "$cs" ]; then
    printf 'kata-doctor: no layered deployment (no base-checksum)\n' >&2
    return 3
  fi
  brc=0
  for c in $cs; do
    to rpm-ostree db list "$c" || brc=$?
  done
  return $brc
}
probe_paths() {
  for p in {PATHS}; do
    if [ -e "$p" ] || [ -L "$p" ]; then s=present; else s=absent; fi
    printf '%s\t%s\n' "$p" "$s"
  done
}

run os-release cat /etc/os-release
run uname-r uname -r
run uname-m uname -m
run rpm-ostree-status rpm-ostree status --json
run rpm-qa rpm -qa --qf '%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n'
run rpm-provides rpm -qa --qf '[%{=NAME}\t%{=ARCH}\t%{PROVIDENAME}\t%{PROVIDEFLAGS:depflags}\t%{PROVIDEVERSION}\n]'
run rpm-requires rpm -qa --qf '[%{=NAME}\t%{=ARCH}\t%{REQUIRENAME}\t%{REQUIREFLAGS:depflags}\t%{REQUIREVERSION}\n]'
fn rpm-file-provides file_provides
fn rpm-V rpm_verify
run kata-runtime-version /usr/bin/kata-runtime --version
run shim-version /usr/bin/containerd-shim-kata-v2 --version
run kata-monitor-version /usr/bin/kata-monitor --version
run kata-env /usr/bin/kata-runtime env --json
fn paths probe_paths
run crio-50-kata cat /etc/crio/crio.conf.d/50-kata
run crio-50-kata.conf cat /etc/crio/crio.conf.d/50-kata.conf
run cpu-flags grep -m1 -E '^(flags|features|Features)[[:space:]]*:' /proc/cpuinfo
run osbuilder-unit systemctl show kata-osbuilder-generate.service -p ActiveState,SubState,Result,UnitFileState
run osbuilder-images find /var/cache/kata-containers -maxdepth 3
fn base-rpmdb base_rpmdb
run base-meta cat /usr/share/openshift/base/meta.json

if [ -s "$T/_script.err" ]; then
  cp "$T/_script.err" "$T/e"
  : >"$T/o"
  emit {SCRIPT_KEY} 0
fi
printf '%s END\n' "$M"
exit 0
"""


def new_nonce() -> str:
    """A fresh random nonce (24 hex characters)."""
    return secrets.token_hex(12)


def build_script(nonce: str, *, item_timeout_s: int = DEFAULT_ITEM_TIMEOUT_S) -> str:
    """The collection script for ``nonce``; pass it as the single argument of ``sh -c``."""
    m = marker(nonce)  # validates the nonce: letters/digits only, so safe in single quotes
    if not isinstance(item_timeout_s, int) or isinstance(item_timeout_s, bool) or item_timeout_s < 1:
        raise FramingError("item timeout must be a positive integer, got %r" % (item_timeout_s,))
    for p in PROBED_PATHS:  # the list is spliced in unquoted: keep it free of shell syntax
        if not all(c.isalnum() or c in "/._-" for c in p):
            raise FramingError("unsafe probed path %r" % (p,))
    replacements = {
        "{M}": m,
        "{IT}": str(item_timeout_s),
        "{PATHS}": " ".join(PROBED_PATHS),
        "{SCRIPT_KEY}": SCRIPT_ITEM_KEY,
        "{E_BASE64}": _B64("kata-doctor: base64 (coreutils) not found on the node\n"),
        "{E_MKTEMP}": _B64("kata-doctor: mktemp -d failed (no writable temporary directory)\n"),
    }
    text = _TEMPLATE
    for k, v in replacements.items():
        text = text.replace(k, v)
    return text
