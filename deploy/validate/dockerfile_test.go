package validate_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfiles checks what can be checked without a container engine:
// each Dockerfile builds its binary with CGO_ENABLED=0 on a distroless base
// (the router as non-root), and every package it needs builds without cgo.
func TestDockerfiles(t *testing.T) {
	goBin := tool(t, "GO", "go")
	buildLine := regexp.MustCompile(`go build -trimpath (?:-tags \S+ )?-ldflags="-s -w[^"]*" -o /out/(\S+) (\./\S+)`)
	tests := []struct {
		file, binary, user, base string
	}{
		{"router.Dockerfile", "lookout-router", "USER 65532:65532", "FROM gcr.io/distroless/static-debian12:nonroot"},
		{"sensor.Dockerfile", "lookout-sensor", "USER 0:0", "FROM gcr.io/distroless/static-debian12\n"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(repoRoot, "deploy/docker", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			text := string(src)
			for _, want := range []string{"ENV CGO_ENABLED=0", tt.base, tt.user, `ENTRYPOINT ["/usr/local/bin/` + tt.binary + `"]`} {
				if !strings.Contains(text, want) {
					t.Errorf("%s lacks %q", tt.file, want)
				}
			}
			m := buildLine.FindStringSubmatch(text)
			if m == nil || m[1] != tt.binary {
				t.Fatalf("%s: no `go build ... -o /out/%s ./pkg` line", tt.file, tt.binary)
			}
			if _, err := os.Stat(filepath.Join(repoRoot, m[2])); err != nil {
				t.Skipf("%s builds %s, which does not exist yet: %v", tt.file, m[2], err)
			}
			// Without cgo every package must still resolve (a cgo-only
			// dependency would leave none of its files); Go then links
			// statically, which distroless/static needs. go list compiles
			// nothing, so this stays cheap.
			cmd := exec.Command(goBin, "list", "-deps", "-e", "-f", "{{if .Error}}{{.ImportPath}}: {{.Error}}{{end}}{{if .CgoFiles}}{{.ImportPath}}: uses cgo{{end}}", m[2])
			cmd.Dir = repoRoot
			cmd.Env = append(os.Environ(), "GOWORK=", "CGO_ENABLED=0")
			var stderr strings.Builder
			cmd.Stderr = &stderr // "go: downloading ..." lines are not problems
			b, err := cmd.Output()
			if err != nil || len(strings.TrimSpace(string(b))) > 0 {
				t.Fatalf("CGO_ENABLED=0 go list -deps %s: %v\n%s%s", m[2], err, b, stderr.String())
			}
		})
	}
}
