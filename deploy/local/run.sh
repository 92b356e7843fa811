#!/usr/bin/env bash
# make run: start the Lookout router locally with deploy/local/router.yaml
# (a stdout output: alerts appear as JSON lines in this terminal).
# The sensor engineer extends this script to start the sensor too.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${BIN:-$ROOT/bin}"
ROUTER_CONFIG="${ROUTER_CONFIG:-$HERE/router.yaml}"
ROUTER_ADDR="${ROUTER_ADDR:-127.0.0.1:2801}"
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# start_router starts bin/lookout-router in the background and waits until
# it accepts connections (bash /dev/tcp: no curl needed).
start_router() {
	LOOKOUT_LISTEN="$ROUTER_ADDR" "$BIN/lookout-router" --config "$ROUTER_CONFIG" &
	PIDS+=("$!")
	for _ in $(seq 1 50); do
		if (exec 3<>"/dev/tcp/${ROUTER_ADDR%:*}/${ROUTER_ADDR##*:}") 2>/dev/null; then
			cat <<MSG

Lookout router is listening on http://$ROUTER_ADDR (config: $ROUTER_CONFIG)
Alerts are delivered to the stdout output: they appear below as JSON lines.
Try it from another terminal:
  curl -sS -X POST http://$ROUTER_ADDR/test
  curl -sS -X POST http://$ROUTER_ADDR/ -d @router/api/testdata/open_from_cat.json
Metrics: curl -sS http://$ROUTER_ADDR/metrics | grep lookout_router
Press Ctrl-C to stop.

MSG
			return 0
		fi
		if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
			echo "run.sh: lookout-router exited; see the error above" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "run.sh: lookout-router did not answer on $ROUTER_ADDR" >&2
	return 1
}

start_router
wait
