package validate_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestChartK8sAudit renders the optional k8s_audit Deployment: a sensor
// with the syscall source off and no privileges, its TLS webhook behind a
// Service, a generated certificate valid for the Service's name and signed
// by the ca.crt the API server's webhook kubeconfig trusts, and the
// upstream k8s_audit rules unchanged, which the sensor loads.
func TestChartK8sAudit(t *testing.T) {
	objs := render(t, "--set", "k8sAudit.enabled=true", "--set", "k8sAudit.service.clusterIP=10.96.0.50")
	dep := mustFind[*appsv1.Deployment](t, objs, "Deployment", "lk-lookout-k8s-audit")
	c := dep.Spec.Template.Spec.Containers[0]
	if sc := c.SecurityContext; sc == nil || sc.Privileged != nil && *sc.Privileged || len(sc.Capabilities.Add) != 0 {
		t.Errorf("the audit sensor asks for privileges: %+v", sc)
	}
	svc := mustFind[*corev1.Service](t, objs, "Service", "lk-lookout-k8s-audit")
	if svc.Spec.Ports[0].Port != 9765 || svc.Spec.ClusterIP != "10.96.0.50" {
		t.Errorf("service %+v", svc.Spec)
	}
	cfg := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-k8s-audit")
	for _, want := range []string{"syscall:\n    enabled: false", "listen: :9765", "cert_file: /etc/lookout/tls/tls.crt", "- /etc/lookout/rules/k8s_audit_rules.yaml"} {
		if !strings.Contains(cfg.Data["sensor.yaml"], want) {
			t.Errorf("sensor.yaml lacks %q:\n%s", want, cfg.Data["sensor.yaml"])
		}
	}
	upstream, err := os.ReadFile(repoRoot + "/sensor/internal/ruleset/k8s_audit_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	chartCopy, err := os.ReadFile(chartDir + "/rules/k8s_audit_rules.yaml")
	if err != nil || !bytes.Equal(chartCopy, upstream) {
		t.Fatalf("deploy/helm/lookout/rules/k8s_audit_rules.yaml differs from sensor/internal/ruleset/ (cp it): %v", err)
	}
	if cfg.Data["k8s_audit_rules.yaml"] != strings.TrimRight(string(upstream), "\n") {
		t.Error("the ConfigMap does not hold k8s_audit_rules.yaml unchanged")
	}
	sec := mustFind[*corev1.Secret](t, objs, "Secret", "lk-lookout-k8s-audit-tls")
	if sec.Type != corev1.SecretTypeTLS {
		t.Errorf("secret type %s", sec.Type)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(sec.Data["ca.crt"]) {
		t.Fatal("ca.crt holds no certificate")
	}
	blk, _ := pem.Decode(sec.Data["tls.crt"])
	if blk == nil {
		t.Fatal("tls.crt holds no certificate")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lk-lookout-k8s-audit.sec.svc", "10.96.0.50"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Errorf("certificate for %s: %v", name, err)
		}
	}
	// The rules as mounted load in the sensor.
	dir := t.TempDir()
	p := filepath.Join(dir, "k8s_audit_rules.yaml")
	if err := os.WriteFile(p, []byte(cfg.Data["k8s_audit_rules.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sensorBinary(t), "rules", "validate", "--strict", p).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok: ") {
		t.Fatalf("lookout-sensor rules validate: %v\n%s", err, out)
	}
}
