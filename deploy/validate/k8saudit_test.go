package validate_test

import (
	"crypto/x509"
	"encoding/pem"
	"os/exec"
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
	for _, want := range []string{"syscall:\n    enabled: false", "listen: :9765", "cert_file: /etc/lookout/tls/tls.crt", "default_rules: true"} {
		if !strings.Contains(cfg.Data["sensor.yaml"], want) {
			t.Errorf("sensor.yaml lacks %q:\n%s", want, cfg.Data["sensor.yaml"])
		}
	}
	// No copy of the upstream rules: the sensor has them embedded.
	if _, ok := cfg.Data["k8s_audit_rules.yaml"]; ok || strings.Contains(cfg.Data["sensor.yaml"], "k8s_audit_rules.yaml") {
		t.Errorf("the chart ships a copy of k8s_audit_rules.yaml:\n%s", cfg.Data["sensor.yaml"])
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
	// The embedded rules the audit sensor loads validate strictly.
	out, err := exec.Command(sensorBinary(t), "rules", "validate", "--strict", "--default-k8s-audit").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok: ") || !strings.Contains(string(out), "48 k8s_audit") {
		t.Fatalf("lookout-sensor rules validate --default-k8s-audit: %v\n%s", err, out)
	}
}
