#!/usr/bin/env bash
# build-zincsearch.sh DEST builds ZincSearch v0.4.10 (an Elasticsearch-API server
# written in Go) into DEST/zincsearch for the Elasticsearch output's integration
# tests. It needs only the Go module proxy: `go install` of the module fails as is
# because the module zip lacks web/dist (needed by an embed directive) and its
# profiler client (github.com/pyroscope-io/client, whose godeltaprof reaches
# into runtime internals) does not compile on current Go. So the source is
# copied out of the module cache, given a placeholder web/dist, and its one
# import of the old client is switched to the renamed, maintained module
# github.com/grafana/pyroscope-go (same API; the profiler is off unless
# configured).
# Idempotent: does nothing when DEST/zincsearch already exists.
set -euo pipefail

dest=${1:?usage: build-zincsearch.sh DEST_DIR}
version=v0.4.10
go=${GO:-go}

if [ -x "$dest/zincsearch" ] && [ -s "$dest/zincsearch" ]; then
	exit 0
fi
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

echo "zincsearch: building $version into $dest (one-off, a few minutes)"
# Outside any workspace or module so that go.work does not interfere.
cd "$work"
export GOWORK=off GOFLAGS=-mod=mod
dir=$("$go" mod download -json "github.com/zincsearch/zincsearch@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "zincsearch: go mod download did not report a source directory" >&2
	exit 1
fi
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
mkdir -p web/dist
printf '<!doctype html><title>ZincSearch</title><p>UI not built (test build).</p>\n' >web/dist/index.html
sed -i 's#"github.com/pyroscope-io/client/pyroscope"#pyroscope "github.com/grafana/pyroscope-go"#' cmd/zincsearch/main.go
if ! grep -q '"github.com/grafana/pyroscope-go"' cmd/zincsearch/main.go; then
	echo "zincsearch: cmd/zincsearch/main.go no longer imports pyroscope-io/client; update this script" >&2
	exit 1
fi
"$go" get github.com/grafana/pyroscope-go@v1.4.3 github.com/grafana/pyroscope-go/godeltaprof@v0.1.12
"$go" build -trimpath -o "$dest/zincsearch.tmp" ./cmd/zincsearch
mv "$dest/zincsearch.tmp" "$dest/zincsearch"
echo "zincsearch: built $dest/zincsearch"
