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
SENSOR_METRICS="${SENSOR_METRICS:-127.0.0.1:2802}"
SENSOR_RULES="${SENSOR_RULES:-$HERE/rules.d}" # loaded after the embedded upstream rules
SENSOR_ARGS="${SENSOR_ARGS:-}" # extra lookout-sensor flags, e.g. "-r my_rules.yaml --stdout"
NO_SENSOR="${NO_SENSOR:-}"      # set to 1 to start the router only (no root needed)
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# start_router starts bin/lookout-router in the background and waits until
# it accepts connections (bash /dev/tcp: no curl needed).
start_router() {
	local tokfile="$ROOT/.run/admin-token"
	if [ ! -s "$tokfile" ]; then
		mkdir -p "$ROOT/.run"
		(umask 077 && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tokfile")
	fi
	ADMIN_TOKEN="$(cat "$tokfile")"
	LOOKOUT_LOCAL_ADMIN_TOKEN="$ADMIN_TOKEN" LOOKOUT_LISTEN="$ROUTER_ADDR" "$BIN/lookout-router" --config "$ROUTER_CONFIG" &
	PIDS+=("$!")
	for _ in $(seq 1 300); do # up to 30 s (a loaded machine)
		if (exec 3<>"/dev/tcp/${ROUTER_ADDR%:*}/${ROUTER_ADDR##*:}") 2>/dev/null; then
			cat <<MSG

Lookout router is listening on http://$ROUTER_ADDR (config: $ROUTER_CONFIG)
Alerts are delivered to the stdout output: they appear below as JSON lines.
Try it from another terminal:
  curl -sS -X POST http://$ROUTER_ADDR/test
  curl -sS -X POST http://$ROUTER_ADDR/ -H "Content-Type: application/json" -d @router/api/testdata/open_from_cat.json
Metrics: curl -sS http://$ROUTER_ADDR/metrics | grep lookout_router
Triage UI: http://$ROUTER_ADDR/ui/ (log in with the admin token $ADMIN_TOKEN, kept in .run/admin-token)
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

# check_sensor_privileges refuses to start anything when the sensor could
# not load its eBPF probe, so nothing is left half-started.
check_sensor_privileges() {
	[ -n "$NO_SENSOR" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		cat >&2 <<MSG
run.sh: the sensor loads an eBPF probe and must run as root (CAP_BPF and CAP_PERFMON).
        Run make run as root  (or NO_SENSOR=1 make run to start the router alone)
MSG
		exit 1
	fi
	if [ ! -x "$BIN/lookout-sensor" ]; then
		echo "run.sh: $BIN/lookout-sensor is missing; run make build" >&2
		exit 1
	fi
}

# start_sensor starts bin/lookout-sensor with the embedded upstream rules
# plus the overrides in deploy/local/rules.d (SENSOR_RULES), posting alerts to the local router, and waits until its metrics endpoint
# answers (the probe is attached and /proc scanned by then).
start_sensor() {
	[ -n "$NO_SENSOR" ] && return 0
	# shellcheck disable=SC2086
	LOOKOUT_METRICS_LISTEN="$SENSOR_METRICS" "$BIN/lookout-sensor" --router "http://$ROUTER_ADDR" -r "$SENSOR_RULES" $SENSOR_ARGS &
	PIDS+=("$!")
	for _ in $(seq 1 600); do
		if (exec 3<>"/dev/tcp/${SENSOR_METRICS%:*}/${SENSOR_METRICS##*:}") 2>/dev/null; then
			cat <<MSG

Lookout sensor is running (rules: the embedded upstream falco_rules.yaml, then your overrides
in $SENSOR_RULES) and posts alerts to the router above, which prints them here as JSON lines.
Try from another terminal:
  cat /etc/shadow                           # -> "Read sensitive file untrusted" within a second
  find /tmp -name id_rsa                    # -> "Search Private Keys or Passwords"
Sensor metrics: curl -sS http://$SENSOR_METRICS/metrics | grep lookout_sensor
Reload rules: kill -HUP ${PIDS[-1]}.  Press Ctrl-C to stop both.

MSG
			return 0
		fi
		if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
			echo "run.sh: lookout-sensor exited; see the error above" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "run.sh: lookout-sensor did not start within 60s" >&2
	return 1
}

check_sensor_privileges
start_router
start_sensor
wait
