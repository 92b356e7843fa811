package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/deploy/validate"
)

// TestBrokenManifestsFail proves the validator is strict: every file in
// testdata/broken holds one deliberate mistake, named on its "# want:"
// first line, and must fail with that message.
func TestBrokenManifestsFail(t *testing.T) {
	files, err := filepath.Glob("testdata/broken/*.yaml")
	if err != nil || len(files) < 10 {
		t.Fatalf("want at least 10 broken manifests, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("%s: first line must be '# want: <error text>'", f)
			}
			objs, err := validate.Decode(data)
			if err == nil {
				t.Fatalf("accepted a broken manifest: %v", validate.List(objs))
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q\ndoes not contain %q", err, want)
			}
		})
	}
}

func TestGoodManifestsPass(t *testing.T) {
	data, err := os.ReadFile("testdata/good/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := validate.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(validate.List(objs), " "), "ConfigMap/demo DaemonSet/demo"; got != want {
		t.Fatalf("objects = %q, want %q", got, want)
	}
}

func TestDecodeStream(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // objects, space separated
		wantErr  string
	}{
		{name: "empty", in: "", wantErr: "no Kubernetes objects"},
		{name: "comments only", in: "# Source: x\n---\n# nothing\n", wantErr: "no Kubernetes objects"},
		{name: "separators and comments", in: "---\n# Source: lookout/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n--- # trailing\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b}\n", want: "ServiceAccount/a ServiceAccount/b"},
		{name: "error names source template", in: "# Source: lookout/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, labelz: {}}\n", wantErr: "document 1 (lookout/templates/sa.yaml) ServiceAccount/a: unknown field \"metadata.labelz\""},
		{name: "missing kind", in: "apiVersion: v1\nmetadata: {name: a}\n", wantErr: "must both be set"},
		{name: "missing name", in: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {}\n", wantErr: "metadata.name: is required"},
		{name: "bad label value", in: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, labels: {x: \"a b\"}}\n", wantErr: "metadata.labels[\"x\"]: value \"a b\""},
		{name: "service name is a DNS-1035 label", in: "apiVersion: v1\nkind: Service\nmetadata: {name: 1router}\nspec: {ports: [{port: 80}]}\n", wantErr: "a DNS-1035 label must consist"},
		{name: "two unnamed service ports", in: "apiVersion: v1\nkind: Service\nmetadata: {name: r}\nspec: {ports: [{port: 80}, {port: 81}]}\n", wantErr: "spec.ports[0].name: is required"},
		{name: "good and bad: both reported", in: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b}\nautomount: true\n", want: "ServiceAccount/a", wantErr: "document 2 ServiceAccount/b: unknown field \"automount\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := validate.Decode([]byte(tt.in))
			if got := strings.Join(validate.List(objs), " "); got != tt.want {
				t.Errorf("objects = %q, want %q", got, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, p := range []string{"testdata/good/daemonset.yaml", "testdata/broken/wrong-type.yaml", "testdata/broken/duplicate-key.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := validate.Decode(data)
		if err == nil && len(objs) == 0 {
			t.Fatal("no error and no objects")
		}
		for _, o := range objs {
			if o.Value == nil || o.Kind == "" || o.Name == "" {
				t.Fatalf("incomplete object %+v", o)
			}
		}
	})
}
