package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// k8sTools finds etcd and kube-apiserver: LOOKOUT_KUBE_APISERVER or the
// one `make test-deps-k8s-audit` builds into .tools/bin, and etcd on PATH
// (Debian's etcd-server). Without them the test is skipped, unless
// LOOKOUT_K8S_AUDIT_REQUIRED=1 (make test) makes it fail.
func k8sTools(t *testing.T) (etcd, apiserver string) {
	t.Helper()
	apiserver = os.Getenv("LOOKOUT_KUBE_APISERVER")
	if apiserver == "" {
		apiserver, _ = filepath.Abs("../../.tools/bin/kube-apiserver")
	}
	etcd, err := exec.LookPath("etcd")
	missing := ""
	if err != nil {
		missing = "etcd (Debian etcd-server)"
	} else if _, err := os.Stat(apiserver); err != nil {
		missing = apiserver
	}
	if missing != "" {
		msg := fmt.Sprintf("%s not found: `make test-deps-k8s-audit` installs etcd-server and builds kube-apiserver", missing)
		if os.Getenv("LOOKOUT_K8S_AUDIT_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg)
	}
	return etcd, apiserver
}

// pki is a test CA and what it signed, as PEM files in dir.
type pki struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
}

func newPKI(t *testing.T, dir string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lookout-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{dir: dir, ca: ca, caKey: key, caFile: filepath.Join(dir, "ca.crt")}
	writePEM(t, p.caFile, "CERTIFICATE", der)
	return p
}

// serving issues a server certificate for 127.0.0.1 and returns the cert
// and key files.
func (p *pki) serving(t *testing.T, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(p.dir, name+".crt"), filepath.Join(p.dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// cluster is etcd plus kube-apiserver on 127.0.0.1, with bearer tokens.
type cluster struct {
	url    string
	client *http.Client
	log    *bytes.Buffer
}

// Bearer tokens of the test users (--token-auth-file).
const (
	adminToken = "lookout-admin-token"
	eveToken   = "lookout-eve-token" // authenticated, no RBAC grants
)

// startCluster starts etcd and kube-apiserver in dir. The API server sends
// its audit events (policy) to the webhook at webhookURL (a kubeconfig
// trusting caFile) and also writes them to auditLog.
func startCluster(t *testing.T, dir, etcdBin, apiserverBin string, p *pki, policy, webhookURL, auditLog string) *cluster {
	t.Helper()
	etcdAddr, peerAddr := freeAddr(t), freeAddr(t)
	etcd := exec.Command(etcdBin, "--name", "lookout-test", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", "http://"+etcdAddr, "--advertise-client-urls", "http://"+etcdAddr,
		"--listen-peer-urls", "http://"+peerAddr, "--initial-advertise-peer-urls", "http://"+peerAddr,
		"--initial-cluster", "lookout-test=http://"+peerAddr, "--log-level", "warn")
	var etcdLog bytes.Buffer
	etcd.Stdout, etcd.Stderr = &etcdLog, &etcdLog
	startProc(t, etcd, "etcd", &etcdLog)

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	saPriv := filepath.Join(dir, "sa.key")
	writePEM(t, saPriv, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey))
	saPubDER, _ := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	saPub := filepath.Join(dir, "sa.pub")
	writePEM(t, saPub, "PUBLIC KEY", saPubDER)
	tokens := writeFile(t, filepath.Join(dir, "tokens.csv"),
		adminToken+`,admin,uid-admin,"system:masters"`+"\n"+eveToken+",eve,uid-eve\n")
	policyFile := writeFile(t, filepath.Join(dir, "audit-policy.yaml"), policy)
	webhook := writeFile(t, filepath.Join(dir, "audit-webhook.kubeconfig"), fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: lookout
  cluster:
    server: %s
    certificate-authority: %s
contexts:
- name: default
  context: {cluster: lookout, user: kube-apiserver}
current-context: default
users:
- name: kube-apiserver
  user: {}
`, webhookURL, p.caFile))
	cert, key := p.serving(t, "apiserver")
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	args := []string{
		"--etcd-servers=http://" + etcdAddr,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + port,
		// A loopback advertise address is refused by the default (lease)
		// endpoint reconciler; no Service needs the kubernetes endpoints here.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true", // the test creates a privileged pod
		"--tls-cert-file=" + cert, "--tls-private-key-file=" + key,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saPub, "--service-account-signing-key-file=" + saPriv,
		"--service-cluster-ip-range=10.96.0.0/24",
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC", "--anonymous-auth=true",
		// No controller manager creates the default service account.
		"--disable-admission-plugins=ServiceAccount",
		"--audit-policy-file=" + policyFile,
		"--audit-webhook-config-file=" + webhook,
		"--audit-webhook-mode=batch", "--audit-webhook-batch-max-wait=500ms", "--audit-webhook-batch-max-size=100",
		"--audit-log-path=" + auditLog, "--audit-log-format=json", "--audit-log-maxsize=100",
		"--cert-dir=" + filepath.Join(dir, "certs"),
	}
	api := exec.Command(apiserverBin, args...)
	var apiLog bytes.Buffer
	api.Stdout, api.Stderr = &apiLog, &apiLog
	startProc(t, api, "kube-apiserver", &apiLog)

	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	c := &cluster{url: "https://" + addr, log: &apiLog,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	// Ready when /readyz answers 200 (RBAC bootstrap roles included).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		code, _ := c.do(t, adminToken, http.MethodGet, "/readyz", "")
		if code == http.StatusOK {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-apiserver not ready within 3m (last /readyz %d):\n%s", code, tail(apiLog.String(), 4000))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// startProc starts cmd, stops it at cleanup and shows its log if the test
// failed.
func startProc(t *testing.T, cmd *exec.Cmd, name string, log *bytes.Buffer) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s log (tail):\n%s", name, tail(log.String(), 6000))
		}
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// do sends one request with a bearer token ("" for anonymous) and a JSON
// body ("" for none), and returns the status and body.
func (c *cluster) do(t *testing.T, token, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "lookout-e2e")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// must sends a request that must answer want.
func (c *cluster) must(t *testing.T, want int, token, method, path, body string) {
	t.Helper()
	code, out := c.do(t, token, method, path, body)
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, tail(out, 2000))
	}
}
