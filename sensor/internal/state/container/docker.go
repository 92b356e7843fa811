package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// DefaultDockerSocket is where the Docker Engine API listens by default.
// Podman's Docker-compatible API (/run/podman/podman.sock) speaks the same
// subset this client uses.
const DefaultDockerSocket = "/var/run/docker.sock"

// ErrNotFound is returned by a Fetcher when the runtime does not know the
// container (it is gone, or belongs to another runtime). Retrying will not
// help.
var ErrNotFound = errors.New("container not found")

// Metadata is what a runtime reports about a container, in the shape the
// sensor's event.Container needs.
type Metadata struct {
	Name            string
	Image           string            // as the user named it, e.g. "nginx:1.25"
	ImageRepository string            // "nginx"
	ImageTag        string            // "1.25" ("latest" when the name has none, as Falco)
	ImageDigest     string            // "sha256:…" when known
	Privileged      *bool             // nil when the runtime did not say
	CreatedTS       int64             // ns since the epoch; 0 when unknown
	Labels          map[string]string // runtime labels, as given
	StartedTS       int64             // ns since the epoch the container started; 0 when unknown
	PodName         string            // from io.kubernetes.pod.name
	PodUID          string            // from io.kubernetes.pod.uid
	Namespace       string            // from io.kubernetes.pod.namespace
	PodLabels       map[string]string // the pod sandbox's labels (CRI); nil when unknown
	SandboxID       string            // the pod sandbox's container id (CRI, io.kubernetes.sandbox.id)
	ImageID         string            // 12 hex characters of the image id
	Mounts          []event.Mount     // as the runtime reports them, in its order
	HostPID         *bool             // shares the host's pid namespace; nil when the runtime did not say
	HostNetwork     *bool
	HostIPC         *bool
	Healthcheck     string // health check command line ("" when none)
	IP              string // primary IPv4 address ("" when unknown)
}

// Fetcher fetches one container's metadata from a runtime.
type Fetcher interface {
	Fetch(ctx context.Context, id ID) (Metadata, error)
}

// Docker is a Docker Engine API client over a unix socket: plain HTTP via
// net/http, no SDK. It uses the version-less API paths, which every daemon
// serves at its own default version.
type Docker struct {
	socket string
	hc     *http.Client
}

// NewDocker returns a client for the Engine API at socket. It does not
// connect; every Fetch dials anew (keep-alive connections are reused).
func NewDocker(socket string) *Docker {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns:    2,
		IdleConnTimeout: 30 * time.Second,
	}
	return &Docker{socket: socket, hc: &http.Client{Transport: tr}}
}

// inspect is the part of GET /containers/{id}/json the sensor reads.
type inspect struct {
	ID      string `json:"Id"`
	Name    string `json:"Name"`
	Created string `json:"Created"`
	Image   string `json:"Image"` // image id, "sha256:…"
	Config  struct {
		Image       string            `json:"Image"`
		Labels      map[string]string `json:"Labels"`
		Healthcheck *struct {
			Test []string `json:"Test"`
		} `json:"Healthcheck"`
	} `json:"Config"`
	State struct {
		StartedAt string `json:"StartedAt"`
	} `json:"State"`
	HostConfig struct {
		Privileged  bool   `json:"Privileged"`
		PidMode     string `json:"PidMode"`
		NetworkMode string `json:"NetworkMode"`
		IpcMode     string `json:"IpcMode"`
	} `json:"HostConfig"`
	Mounts []struct {
		Source      string `json:"Source"`
		Destination string `json:"Destination"`
		Mode        string `json:"Mode"`
		RW          bool   `json:"RW"`
		Propagation string `json:"Propagation"`
	} `json:"Mounts"`
	NetworkSettings struct {
		IPAddress string `json:"IPAddress"`
	} `json:"NetworkSettings"`
}

// Fetch inspects the container and, when its image name carries no digest,
// the image for its repo digest (a failed image lookup is not an error).
func (d *Docker) Fetch(ctx context.Context, id ID) (Metadata, error) {
	if !isHex64(id.FullID) {
		return Metadata{}, fmt.Errorf("docker: container id %q is not 64 hex characters", id.FullID)
	}
	var in inspect
	if err := d.get(ctx, "/containers/"+id.FullID+"/json", &in); err != nil {
		return Metadata{}, fmt.Errorf("docker: inspect container %s: %w", id.Short(), err)
	}
	m := Metadata{
		Name:       strings.TrimPrefix(in.Name, "/"),
		Image:      in.Config.Image,
		Privileged: &in.HostConfig.Privileged,
		Labels:     in.Config.Labels,
		PodName:    in.Config.Labels["io.kubernetes.pod.name"],
		PodUID:     in.Config.Labels["io.kubernetes.pod.uid"],
		Namespace:  in.Config.Labels["io.kubernetes.pod.namespace"],
	}
	if t, err := time.Parse(time.RFC3339Nano, in.Created); err == nil {
		m.CreatedTS = t.UnixNano()
	}
	if t, err := time.Parse(time.RFC3339Nano, in.State.StartedAt); err == nil && t.Year() > 1 {
		m.StartedTS = t.UnixNano()
	}
	if img := strings.TrimPrefix(in.Image, "sha256:"); isHex64(img) {
		m.ImageID = img[:12]
	}
	host := func(mode string) *bool { b := mode == "host"; return &b }
	m.HostPID, m.HostNetwork, m.HostIPC = host(in.HostConfig.PidMode), host(in.HostConfig.NetworkMode), host(in.HostConfig.IpcMode)
	for _, mt := range in.Mounts {
		m.Mounts = append(m.Mounts, event.Mount{Source: mt.Source, Dest: mt.Destination, Mode: mt.Mode, RW: mt.RW, Propagation: mt.Propagation})
	}
	if hc := in.Config.Healthcheck; hc != nil {
		m.Healthcheck = healthcheck(hc.Test)
	}
	m.IP = in.NetworkSettings.IPAddress
	m.ImageRepository, m.ImageTag, m.ImageDigest = SplitImage(in.Config.Image)
	if m.ImageDigest == "" && strings.HasPrefix(in.Image, "sha256:") && isHex64(in.Image[len("sha256:"):]) {
		var img struct {
			RepoDigests []string `json:"RepoDigests"`
		}
		if err := d.get(ctx, "/images/"+in.Image+"/json", &img); err == nil {
			m.ImageDigest = pickDigest(img.RepoDigests, m.ImageRepository)
		}
	}
	return m, nil
}

// healthcheck renders a Docker health check test as Falco does: "CMD"
// runs its arguments, "CMD-SHELL" runs "/bin/sh -c CMD"; "NONE" and an
// empty test mean no check.
func healthcheck(test []string) string {
	if len(test) < 2 {
		return ""
	}
	switch test[0] {
	case "CMD":
		return strings.Join(test[1:], " ")
	case "CMD-SHELL":
		return "/bin/sh -c " + strings.Join(test[1:], " ")
	}
	return ""
}

// get decodes the JSON body of a GET; 404 is ErrNotFound.
func (d *Docker) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
	if err != nil {
		return err
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return fmt.Errorf("engine API at %s: %w", d.socket, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, 4<<20)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		io.Copy(io.Discard, body)
		return ErrNotFound
	case resp.StatusCode != http.StatusOK:
		msg, _ := io.ReadAll(io.LimitReader(body, 512))
		return fmt.Errorf("engine API at %s: GET %s: %s: %s", d.socket, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	if err := json.NewDecoder(body).Decode(out); err != nil {
		return fmt.Errorf("engine API at %s: GET %s: decode: %w", d.socket, path, err)
	}
	return nil
}

// Close releases idle connections.
func (d *Docker) Close() { d.hc.CloseIdleConnections() }

// SplitImage splits an image reference "host:port/repo/name:tag@sha256:…"
// into repository, tag and digest. A reference with neither tag nor digest
// gets tag "latest", as Falco reports it; a bare image id "sha256:…" is
// only a digest.
func SplitImage(ref string) (repo, tag, digest string) {
	if strings.HasPrefix(ref, "sha256:") { // an image id, not a name
		return "", "", ref
	}
	repo = ref
	if i := strings.IndexByte(repo, '@'); i >= 0 {
		repo, digest = repo[:i], repo[i+1:]
	}
	slash := strings.LastIndexByte(repo, '/')
	if i := strings.LastIndexByte(repo, ':'); i > slash {
		repo, tag = repo[:i], repo[i+1:]
	}
	if tag == "" && digest == "" && repo != "" {
		tag = "latest"
	}
	return repo, tag, digest
}

// pickDigest returns the digest of the repo digest ("repo@sha256:…") whose
// repository matches repo, else the first one's.
func pickDigest(repoDigests []string, repo string) string {
	first := ""
	for _, rd := range repoDigests {
		r, dg, ok := strings.Cut(rd, "@")
		if !ok {
			continue
		}
		if r == repo || strings.TrimPrefix(r, "docker.io/library/") == repo || strings.TrimPrefix(r, "docker.io/") == repo {
			return dg
		}
		if first == "" {
			first = dg
		}
	}
	return first
}
