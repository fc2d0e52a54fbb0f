#!/usr/bin/env bash
# Installs ci-medic for the action: the released archive for this runner's
# OS/arch, verified against the SHA-256 pinned in action/checksums.txt of the
# action's own repository; without a pinned checksum, it builds the binary with
# `cargo install --locked`. A checksum that does not match is never installed.
#
# Environment:
#   CI_MEDIC_VERSION            X.Y.Z; empty: the newest version pinned for this
#                               runner; "source": build the action's own source
#   CI_MEDIC_INSTALL_DIR        where the binary goes
#                               [default: $RUNNER_TOOL_CACHE/ci-medic/<version>/<target>]
#   CI_MEDIC_RELEASES_URL       where release archives are
#                               [default: $GITHUB_SERVER_URL/<action repo>/releases/download]
#   CI_MEDIC_ACTION_REPOSITORY  the action's repository [default: ci-medic/ci-medic]
#   CI_MEDIC_CHECKSUMS          the pinned checksums [default: action/checksums.txt]
#   CI_MEDIC_INSTALL_DRY_RUN=1  print the cargo command instead of building
#   RUNNER_OS, RUNNER_ARCH      set by Actions (uname elsewhere)
#   GITHUB_PATH, GITHUB_OUTPUT  the install dir is added to PATH; output `path`
set -euo pipefail

die() {
  echo "::error title=ci-medic install::$*"
  echo "ci-medic install: error: $*" >&2
  exit 1
}
note() { echo "ci-medic install: $*" >&2; }

action_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
checksums="${CI_MEDIC_CHECKSUMS:-$action_dir/action/checksums.txt}"
version="${CI_MEDIC_VERSION:-}"
version="${version#v}"
repository="${CI_MEDIC_ACTION_REPOSITORY:-ci-medic/ci-medic}"
server="${GITHUB_SERVER_URL:-https://github.com}"
[ -f "$checksums" ] || die "expected the pinned checksums at $checksums, found no file"

os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
case "$os/$arch" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64 | Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  *) target="" ;;
esac

# checksums.txt: "<version> <target> <sha256>" per line; # comments, blank lines.
pinned_sha() {
  awk -v v="$1" -v t="$2" '$1 !~ /^#/ && NF == 3 && $1 == v && $2 == t { print $3 }' "$checksums"
}
newest_pinned() {
  awk -v t="$1" '$1 !~ /^#/ && NF == 3 && $2 == t { print $1 }' "$checksums" | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1
}
sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}
publish() {
  local bin="$1"
  "$bin" --version >&2 || die "$bin does not run"
  if [ -n "${GITHUB_PATH:-}" ]; then dirname "$bin" >>"$GITHUB_PATH"; fi
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "path=$bin" >>"$GITHUB_OUTPUT"; fi
  note "installed $bin"
}
# Builds with cargo: the action's own source, or the tag of `version`.
build() {
  local what="$1" root="${CI_MEDIC_INSTALL_DIR:-${RUNNER_TOOL_CACHE:-${TMPDIR:-/tmp}}/ci-medic/$1/source}"
  local cmd=(cargo install --locked --root "$root")
  if [ "$what" = source ]; then
    cmd+=(--path "$action_dir/cli")
  else
    cmd+=(--git "$server/$repository" --tag "v$what" ci-medic)
  fi
  if [ "${CI_MEDIC_INSTALL_DRY_RUN:-}" = 1 ]; then
    echo "would run: ${cmd[*]}"
    exit 0
  fi
  command -v cargo >/dev/null || die "building ci-medic needs cargo, which is not on PATH: set up Rust first (e.g. dtolnay/rust-toolchain), or use a version with a released binary"
  note "building ci-medic ($what): ${cmd[*]}"
  "${cmd[@]}" >&2 || die "cargo install failed: ${cmd[*]}"
  publish "$root/bin/ci-medic"
  exit 0
}

if [ "$version" = source ]; then build source; fi
if [ -z "$version" ]; then
  [ -n "$target" ] && version="$(newest_pinned "$target")"
  if [ -z "$version" ]; then
    note "no released binary is pinned for ${target:-$os/$arch} in $checksums: building the action's own source"
    build source
  fi
fi
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] \
  || die "version: expected X.Y.Z, empty or \"source\", found \"$version\""

sha=""
[ -n "$target" ] && sha="$(pinned_sha "$version" "$target")"
if [ -z "$sha" ]; then
  note "ci-medic $version has no checksum pinned for ${target:-$os/$arch} in $checksums: building it from its tag"
  build "$version"
fi

asset="ci-medic-$version-$target.tar.gz"
url="${CI_MEDIC_RELEASES_URL:-$server/$repository/releases/download}/v$version/$asset"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
note "downloading $url"
if ! curl -fsSL --retry 3 --connect-timeout 15 --max-time 300 -o "$tmp/$asset" "$url"; then
  note "downloading $url failed: building ci-medic $version from its tag instead"
  build "$version"
fi
found="$(sha256_of "$tmp/$asset")"
[ "$found" = "$sha" ] \
  || die "$asset from $url: expected SHA-256 $sha (pinned in $checksums), found $found; refusing to install it"
tar -xzf "$tmp/$asset" -C "$tmp" ci-medic || die "$asset: expected an archive holding ci-medic at its root"
dir="${CI_MEDIC_INSTALL_DIR:-${RUNNER_TOOL_CACHE:-${TMPDIR:-/tmp}}/ci-medic/$version/$target}"
mkdir -p "$dir"
install -m 0755 "$tmp/ci-medic" "$dir/ci-medic"
reported="$("$dir/ci-medic" --version 2>/dev/null || true)"
[ "$reported" = "ci-medic $version" ] \
  || { rm -f "$dir/ci-medic"; die "$asset: expected ci-medic $version, the binary says \"$reported\""; }
publish "$dir/ci-medic"
