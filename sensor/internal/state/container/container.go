// Package container derives a container's identity from a process's cgroup
// paths (/proc/PID/cgroup), recognising the docker, containerd/CRI, cri-o and
// podman naming patterns, and fetches runtime metadata (name, image,
// privileged, labels, Kubernetes pod and namespace) over the runtimes' unix
// sockets — the Docker Engine API (or Podman's compatible one) and the
// Kubernetes CRI of containerd and cri-o — in the background:
// Resolver queues requests without blocking and delivers Results for the
// state tables to apply on their own goroutine.
package container

import (
	"bufio"
	"bytes"
	"strings"
)

// Runtime names as Falco renders container.type.
const (
	RuntimeDocker     = "docker"
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimePodman     = "podman"
)

// ID is a container identity parsed from a cgroup path.
type ID struct {
	FullID  string // 64 hex characters
	Runtime string
}

// Short returns the 12-character id Falco uses for container.id.
func (id ID) Short() string {
	if len(id.FullID) > 12 {
		return id.FullID[:12]
	}
	return id.FullID
}

// pattern is a prefix/suffix pair around a 64-hex id in a cgroup path
// component, for systemd-style scope names.
type pattern struct {
	prefix, suffix, runtime string
}

var scopePatterns = [...]pattern{
	{"docker-", ".scope", RuntimeDocker},
	{"cri-containerd-", ".scope", RuntimeContainerd},
	{"crio-", ".scope", RuntimeCRIO},
	{"crio-conmon-", ".scope", ""}, // conmon runs on the host side of cri-o
	{"libpod-", ".scope", RuntimePodman},
	{"libpod-conmon-", ".scope", ""},
}

// ParsePath returns the container id found in one cgroup path, such as
// "/system.slice/docker-<id>.scope", "/docker/<id>",
// "/kubepods/besteffort/pod<uid>/<id>" or
// "/kubepods.slice/.../cri-containerd-<id>.scope". ok is false for host paths.
func ParsePath(path string) (ID, bool) {
	parts := strings.Split(path, "/")
	for i := len(parts) - 1; i >= 0; i-- {
		c := parts[i]
		for _, p := range scopePatterns {
			// The suffix is optional: the cgroupfs manager names the
			// cgroup "libpod-<id>" (podman on cgroup v1, under
			// /libpod_parent), systemd "libpod-<id>.scope".
			if strings.HasPrefix(c, p.prefix) {
				id := strings.TrimSuffix(c[len(p.prefix):], p.suffix)
				if isHex64(id) {
					if p.runtime == "" {
						return ID{}, false
					}
					return ID{FullID: id, Runtime: p.runtime}, true
				}
			}
		}
		if !isHex64(c) || i == 0 {
			continue
		}
		switch prev := parts[i-1]; {
		case prev == "docker":
			return ID{FullID: c, Runtime: RuntimeDocker}, true
		case prev == "libpod_parent" || strings.HasPrefix(prev, "libpod"):
			return ID{FullID: c, Runtime: RuntimePodman}, true
		case strings.HasPrefix(prev, "pod") || strings.HasPrefix(prev, "kubepods"):
			// cgroupfs-driver Kubernetes: /kubepods/<qos>/pod<uid>/<id>; the
			// runtime is not in the path, containerd is the common one.
			return ID{FullID: c, Runtime: RuntimeContainerd}, true
		case prev == "k8s.io":
			// containerd's default cgroup path "/<namespace>/<id>" for
			// the CRI namespace (a pod sandbox without a cgroup parent).
			return ID{FullID: c, Runtime: RuntimeContainerd}, true
		case strings.HasPrefix(prev, "crio"):
			return ID{FullID: c, Runtime: RuntimeCRIO}, true
		}
	}
	return ID{}, false
}

// ParseCgroupFile scans the contents of /proc/PID/cgroup
// ("hierarchy:controllers:path" lines) and returns the first container id.
func ParseCgroupFile(data []byte) (ID, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		i := strings.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		j := strings.IndexByte(line[i+1:], ':')
		if j < 0 {
			continue
		}
		if id, ok := ParsePath(line[i+1+j+1:]); ok {
			return id, true
		}
	}
	return ID{}, false
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
