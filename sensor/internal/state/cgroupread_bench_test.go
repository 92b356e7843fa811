package state

import (
	"os"
	"strconv"
	"testing"

	"github.com/prometheus/procfs"

	"github.com/lookout-sec/lookout/sensor/internal/state/container"
)

// BenchmarkCgroupRead compares the two ways refreshContainer could read the
// container of an exec'ing process from /proc/PID/cgroup (the exec path,
// per event when the probe sends no cgroups parameter): one read and the
// hand-written scan it uses, and prometheus/procfs's Proc.Cgroups (which
// parses every line into structs) followed by the same id match.
func BenchmarkCgroupRead(b *testing.B) {
	pid := os.Getpid()
	b.Run("readfile+ParseCgroupFile", func(b *testing.B) {
		name := "/proc/" + strconv.Itoa(pid) + "/cgroup"
		b.ReportAllocs()
		for b.Loop() {
			data, err := os.ReadFile(name)
			if err != nil {
				b.Fatal(err)
			}
			container.ParseCgroupFile(data)
		}
	})
	b.Run("procfs.Cgroups", func(b *testing.B) {
		fs, err := procfs.NewFS("/proc")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			p, err := fs.Proc(pid)
			if err != nil {
				b.Fatal(err)
			}
			cgs, err := p.Cgroups()
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range cgs {
				if _, ok := container.ParseCgroupFile([]byte("0::" + c.Path)); ok {
					break
				}
			}
		}
	})
}
