#!/usr/bin/env bash
# build.sh DEST_DIR builds kube-apiserver (k8s.io/kubernetes/cmd/kube-apiserver, the
# version this directory's go.mod requires) into DEST_DIR/kube-apiserver for the
# sensor's Kubernetes audit end-to-end test (sensor/e2e TestK8sAuditRealAPIServer).
# Only the Go module proxy is needed; 10 minutes or more on 2 cores with a cold
# build cache. Idempotent: a stamp DEST_DIR/.kube-apiserver-VERSION names the
# built version, and nothing is done when it and the binary are present.
# KUBE_APISERVER_NICE (default 10) lowers the build's priority.
set -euo pipefail

dest=${1:?usage: build.sh DEST_DIR}
go=${GO:-go}
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\).*$/\1/p' "$here/go.mod" | head -1)
if [ -z "$version" ]; then
	echo "kube-apiserver: no k8s.io/kubernetes requirement in $here/go.mod" >&2
	exit 1
fi
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
stamp="$dest/.kube-apiserver-$version"
if [ -x "$dest/kube-apiserver" ] && [ -f "$stamp" ]; then
	exit 0
fi

echo "kube-apiserver: building $version into $dest (one-off: 10 minutes or more on 2 cores, 24 measured under load)"
start=$(date +%s)
cd "$here"
GOWORK=off nice -n "${KUBE_APISERVER_NICE:-10}" "$go" build -trimpath -ldflags '-s -w' \
	-o "$dest/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$dest/kube-apiserver.tmp" "$dest/kube-apiserver"
rm -f "$dest"/.kube-apiserver-v*
touch "$stamp"
echo "kube-apiserver: built $dest/kube-apiserver in $(( $(date +%s) - start ))s"
