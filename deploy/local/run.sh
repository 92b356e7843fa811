#!/usr/bin/env bash
# make run: start the router (and the sensor once it exists) with a local config.
set -euo pipefail
echo "make run: not wired yet" >&2
exit 1
