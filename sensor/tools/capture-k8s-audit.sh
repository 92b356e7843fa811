#!/usr/bin/env bash
# capture-k8s-audit.sh re-captures the golden audit events of
# sensor/internal/k8saudit/testdata/audit.jsonl from a real kube-apiserver:
# it runs the end-to-end test TestK8sAuditRealAPIServer (etcd and
# kube-apiserver on 127.0.0.1, see `make test-deps-k8s-audit`), which drives
# the API calls and writes the events its own requests caused. Then
# regenerate the goldens that depend on them:
#   go test ./sensor/internal/k8saudit/ -run Golden -update
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/sensor/internal/k8saudit/testdata/audit.jsonl
cd "$root"
LOOKOUT_K8S_AUDIT_REQUIRED=1 LOOKOUT_K8S_AUDIT_CAPTURE="$out" \
	go test -count=1 -run '^TestK8sAuditRealAPIServer$' -v ./sensor/e2e/ | grep -E 'captured|^(ok|FAIL|---)'
echo "now: go test ./sensor/internal/k8saudit/ -run Golden -update"
