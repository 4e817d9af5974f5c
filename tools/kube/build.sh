#!/usr/bin/env bash
# Builds the pinned Kubernetes control plane the cluster tests run against:
# kube-apiserver, kube-controller-manager and kube-scheduler from the k8s.io/kubernetes
# module, kwok (fake kubelet) from sigs.k8s.io/kwok, into a cache keyed by version.
# `go install pkg@version` refuses k8s.io/kubernetes (its go.mod has replace lines), so a
# throwaway wrapper module requires it and pins every k8s.io staging module to the
# matching v0.x version, the list taken from that version's own go.mod.
# Prints the bin directory on stdout. A second run with the cache present costs nothing.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.36.3}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE_ROOT="${TNTC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tentacular}"
DEST="$CACHE_ROOT/kube-$KUBE_VERSION"
BIN="$DEST/bin"
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kwok)

have_all() {
  for c in "${COMPONENTS[@]}"; do [[ -x "$BIN/$c" ]] || return 1; done
  [[ -f "$DEST/.kwok-$KWOK_VERSION" ]]
}

if have_all; then echo "$BIN"; exit 0; fi
mkdir -p "$DEST"
exec 9>"$DEST/.lock"
flock 9  # another worktree may be building right now: wait for it, then reuse its result
if have_all; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { echo "tools/kube/build.sh: no Go toolchain on PATH" >&2; exit 3; }

# Go 1.27's encoding/json/v2 default breaks the apiserver's OpenAPI; stay on v1 semantics.
export GOEXPERIMENT="${GOEXPERIMENT:-nojsonv2}"
export GOFLAGS="${GOFLAGS:--trimpath}"
export CGO_ENABLED=0
# Two cores: keep the linker's peak memory bounded.
export GOMAXPROCS="${GOMAXPROCS:-2}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tntc-kube-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$BIN"
started=$(date +%s)

upstream_gomod="$(cd "$WORK" && go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
staging_version="v0.${KUBE_VERSION#1.}"

{
  echo "module tentacular.invalid/kubebuild"
  echo
  echo "go 1.26"
  echo
  echo "require k8s.io/kubernetes v$KUBE_VERSION"
  echo
  echo "replace ("
  grep -E '^[[:space:]]+k8s\.io/[a-z0-9-]+ => \./staging/' "$upstream_gomod" \
    | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} >"$WORK/go.mod"

cd "$WORK"
cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
echo "tools/kube/build.sh: resolving k8s.io/kubernetes v$KUBE_VERSION" >&2
go mod tidy >&2
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  echo "tools/kube/build.sh: building $c" >&2
  go build -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION" \
    -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c" >&2
  mv "$BIN/$c.tmp" "$BIN/$c"
done
echo "tools/kube/build.sh: building kwok $KWOK_VERSION" >&2
GOBIN="$WORK/gobin" go install -ldflags="-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
mv "$WORK/gobin/kwok" "$BIN/kwok"
touch "$DEST/.kwok-$KWOK_VERSION"
echo "tools/kube/build.sh: built in $(( $(date +%s) - started )) s into $BIN" >&2
echo "$BIN"
