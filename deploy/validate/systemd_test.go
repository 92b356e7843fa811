package validate_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnits runs `systemd-analyze verify` on each unit in
// deploy/systemd (its ExecStart pointed at a real executable, since verify
// checks it) and fails on any complaint, including the unknown keys and bad
// values verify only warns about; then it holds each unit to an exposure
// ceiling with `systemd-analyze security --offline --threshold`.
func TestSystemdUnits(t *testing.T) {
	analyze := tool(t, "LOOKOUT_SYSTEMD_ANALYZE", "systemd-analyze")
	router := routerBinary(t)
	units := []struct {
		file, binary, standIn string
		maxExposure           string // systemd's overall exposure level, 0.0-10.0
		threshold             string // the same, ×10, as --threshold takes it
	}{
		{"lookout-router.service", "/usr/local/bin/lookout-router", router, "2.0", "20"},
		// The sensor binary is not needed to check its unit: any executable stands in.
		{"lookout-sensor.service", "/usr/local/bin/lookout-sensor", "/bin/true", "3.5", "35"},
	}
	for _, u := range units {
		t.Run(u.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(repoRoot, "deploy/systemd", u.file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(src, []byte(u.binary)) {
				t.Fatalf("%s does not run %s", u.file, u.binary)
			}
			p := filepath.Join(t.TempDir(), u.file)
			if err := os.WriteFile(p, bytes.ReplaceAll(src, []byte(u.binary), []byte(u.standIn)), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(analyze, "verify", p).CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Fatalf("systemd-analyze verify %s: %v\n%s", u.file, err, out)
			}
			out, err = exec.Command(analyze, "security", "--offline=true", "--threshold="+u.threshold, p).CombinedOutput()
			if err != nil {
				t.Fatalf("systemd-analyze security: exposure above %s: %v\n%s", u.maxExposure, err, out)
			}
		})
	}
}

// TestSystemdVerifyCatchesTypos proves the check above can fail: a
// misspelt key and a bad value are both reported.
func TestSystemdVerifyCatchesTypos(t *testing.T) {
	analyze := tool(t, "LOOKOUT_SYSTEMD_ANALYZE", "systemd-analyze")
	tests := []struct{ name, unit, want string }{
		{"unknown key", "[Service]\nExecStart=/bin/true\nProtectSystm=strict\n", "Unknown key"},
		{"bad value", "[Service]\nExecStart=/bin/true\nProtectSystem=stric\n", "Failed to parse"},
		{"missing binary", "[Service]\nExecStart=/nonexistent/lookout\n", "is not executable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "broken.service")
			if err := os.WriteFile(p, []byte(tt.unit), 0o644); err != nil {
				t.Fatal(err)
			}
			out, _ := exec.Command(analyze, "verify", p).CombinedOutput()
			if !strings.Contains(string(out), tt.want) {
				t.Fatalf("systemd-analyze verify said %q, want %q", out, tt.want)
			}
		})
	}
}
