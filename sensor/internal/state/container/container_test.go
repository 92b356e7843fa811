package container

import (
	"strings"
	"testing"
)

const hexID = "3f4e2d1c0b9a8f7e6d5c4b3a29180716f5e4d3c2b1a09f8e7d6c5b4a39281706"

func TestParsePath(t *testing.T) {
	tests := []struct {
		name, path, wantRuntime string
		wantOK                  bool
	}{
		{"docker cgroupfs", "/docker/" + hexID, RuntimeDocker, true},
		{"docker systemd", "/system.slice/docker-" + hexID + ".scope", RuntimeDocker, true},
		{"containerd systemd kubepods", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_5678.slice/cri-containerd-" + hexID + ".scope", RuntimeContainerd, true},
		{"kubepods cgroupfs", "/kubepods/besteffort/pod0c3a-11/" + hexID, RuntimeContainerd, true},
		{"kubepods guaranteed cgroupfs", "/kubepods/pod0c3a-11/" + hexID, RuntimeContainerd, true},
		{"crio systemd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podab.slice/crio-" + hexID + ".scope", RuntimeCRIO, true},
		{"crio conmon is host", "/kubepods.slice/crio-conmon-" + hexID + ".scope", "", false},
		{"podman systemd", "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + hexID + ".scope", RuntimePodman, true},
		{"podman nested container", "/machine.slice/libpod-" + hexID + ".scope/container", RuntimePodman, true},
		{"podman cgroupfs", "/libpod_parent/libpod-abc/" + hexID, RuntimePodman, true},
		{"containerd default path, CRI namespace", "/k8s.io/" + hexID, RuntimeContainerd, true},
		{"podman cgroupfs manager (cgroup v1 and v2)", "/libpod_parent/libpod-" + hexID, RuntimePodman, true},
		{"docker cgroupfs-style scope without suffix", "/system.slice/docker-" + hexID, RuntimeDocker, true},
		{"podman conmon is host", "/machine.slice/libpod-conmon-" + hexID + ".scope", "", false},
		{"host systemd", "/system.slice/sshd.service", "", false},
		{"host root", "/", "", false},
		{"host user", "/user.slice/user-0.slice/session-1.scope", "", false},
		{"short id is not an id", "/docker/abc123", "", false},
		{"uppercase hex is not an id", "/docker/" + strings.ToUpper(hexID), "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := ParsePath(tt.path)
			if ok != tt.wantOK {
				t.Fatalf("ParsePath(%q) ok = %v, want %v", tt.path, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if id.FullID != hexID || id.Runtime != tt.wantRuntime {
				t.Fatalf("ParsePath(%q) = %+v, want id %s runtime %s", tt.path, id, hexID, tt.wantRuntime)
			}
			if id.Short() != hexID[:12] {
				t.Fatalf("Short() = %q", id.Short())
			}
		})
	}
}

func TestParseCgroupFile(t *testing.T) {
	v1 := "12:pids:/docker/" + hexID + "\n11:memory:/docker/" + hexID + "\n1:name=systemd:/docker/" + hexID + "\n"
	v2 := "0::/system.slice/docker-" + hexID + ".scope\n"
	host := "0::/user.slice/user-0.slice/session-3.scope\n"
	for _, tc := range []struct {
		name, data string
		ok         bool
	}{{"v1", v1, true}, {"v2", v2, true}, {"host", host, false}, {"garbage", "no colons\n", false}} {
		id, ok := ParseCgroupFile([]byte(tc.data))
		if ok != tc.ok || (ok && id.FullID != hexID) {
			t.Errorf("%s: got %+v %v, want ok=%v", tc.name, id, ok, tc.ok)
		}
	}
}

func FuzzParseCgroupFile(f *testing.F) {
	f.Add([]byte("0::/system.slice/docker-" + hexID + ".scope\n"))
	f.Add([]byte("3:cpu:/kubepods/besteffort/podx/" + hexID))
	f.Add([]byte("::\n:::"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, ok := ParseCgroupFile(data)
		if ok && (len(id.FullID) != 64 || id.Runtime == "") {
			t.Fatalf("bad id %+v", id)
		}
	})
}
