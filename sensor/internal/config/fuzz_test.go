package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

// FuzzLoad feeds arbitrary files to Load: it must return a config or an
// error, never panic, and an accepted config must validate.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"outputs: {stdout: {enabled: true}}\n",
		"rules: [a, b]\nmin_priority: warning\noutputs: {router: {url: 'http://x:1', batch_size: 5, batch_interval: 1s}}\n",
		"metrics: {listen: ''}\nring_size: 4096\noutputs: {file: {path: /tmp/x}}\n",
		"outputs: [1, 2]\n",
		"rules: 5\n",
		": :\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fs := pflag.NewFlagSet("fuzz", pflag.ContinueOnError)
		AddFlags(fs)
		if err := fs.Parse([]string{"--config", p}); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(fs)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("accepted config does not validate: %v", verr)
			}
		}
	})
}
