package container

import "testing"

func TestWorkload(t *testing.T) {
	tests := []struct {
		pod    string
		labels map[string]string
		name   string
		kind   string
	}{
		{"app-dashboard-7d9f8b-xk2lp", nil, "app-dashboard", KindDeployment},
		{"app-dashboard-7d9f8b5c4d-xk2lp", map[string]string{"pod-template-hash": "7d9f8b5c4d"}, "app-dashboard", KindDeployment},
		{"web-0", nil, "web", KindStatefulSet},
		{"web-12", map[string]string{"controller-revision-hash": "web-6b7c9d", "statefulset.kubernetes.io/pod-name": "web-12"}, "web", KindStatefulSet},
		{"fluent-bit-x7k2p", map[string]string{"controller-revision-hash": "5d8f7c", "pod-template-generation": "3"}, "fluent-bit", KindDaemonSet},
		{"migrate-db-q8r2t", map[string]string{"job-name": "migrate-db", "controller-uid": "x"}, "migrate-db", KindJob},
		{"backup-28391040-z9x8w", map[string]string{"batch.kubernetes.io/job-name": "backup-28391040"}, "backup", KindCronJob},
		{"debug", nil, "debug", KindPod},
		{"my-worker", nil, "my-worker", KindPod},                       // "worker" is no hash, no random suffix
		{"nginx-proxy", nil, "nginx-proxy", KindPod},                   // 5 letters but no hash before it
		{"kube-apiserver-node1", nil, "kube-apiserver-node1", KindPod}, // static pod
		{"", nil, "", ""},
	}
	for _, tt := range tests {
		name, kind := Workload(tt.pod, tt.labels)
		if name != tt.name || kind != tt.kind {
			t.Errorf("Workload(%q, %v) = %q, %q; want %q, %q", tt.pod, tt.labels, name, kind, tt.name, tt.kind)
		}
	}
}
