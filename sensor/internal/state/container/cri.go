package container

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Default CRI sockets of containerd and cri-o.
const (
	DefaultContainerdSocket = "/run/containerd/containerd.sock"
	DefaultCRIOSocket       = "/var/run/crio/crio.sock"
)

// criMaxMsgSize bounds a ContainerStatus response (verbose info included),
// as the kubelet does.
const criMaxMsgSize = 16 << 20

// CRI is a client for the Kubernetes Container Runtime Interface
// (k8s.io/cri-api runtime/v1) over a unix socket: gRPC without TLS, one
// connection made on first use, kept and re-established by grpc-go, and
// closed by Close. It asks RuntimeService.ContainerStatus with verbose info.
type CRI struct {
	socket string
	conn   *grpc.ClientConn // nil when the target could not be set up (err)
	err    error
	client runtimeapi.RuntimeServiceClient
}

// NewCRI returns a client for the CRI endpoint at socket. It does not
// connect until the first Fetch.
func NewCRI(socket string) *CRI {
	c := &CRI{socket: socket}
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}
	// passthrough: the socket path is dialed as given (no URL parsing of
	// the path), and :authority is "localhost" as for the unix resolver.
	conn, err := grpc.NewClient("passthrough:///localhost",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(dial),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(criMaxMsgSize)),
		// A restarted runtime is reconnected within seconds rather than
		// grpc-go's default of up to two minutes; failed fetches are retried
		// by the caller (state's sweep) meanwhile.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
	)
	if err != nil {
		c.err = fmt.Errorf("cri: client for %s: %w", socket, err)
		return c
	}
	c.conn, c.client = conn, runtimeapi.NewRuntimeServiceClient(conn)
	return c
}

// Close closes the connection; a Fetch after Close fails.
func (c *CRI) Close() {
	if c.conn != nil {
		_ = c.conn.Close() // only reports an earlier Close
	}
}

// Fetch calls ContainerStatus(id, verbose) and maps the status: name from
// the metadata, image from the image spec (falling back to image_ref),
// digest from image_ref, created_at, labels (io.kubernetes.pod.* give the
// pod), and privileged from the verbose info JSON. A gRPC NOT_FOUND is
// ErrNotFound; ctx's deadline bounds the call.
func (c *CRI) Fetch(ctx context.Context, id ID) (Metadata, error) {
	if !isHex64(id.FullID) {
		return Metadata{}, fmt.Errorf("cri: container id %q is not 64 hex characters", id.FullID)
	}
	if c.err != nil {
		return Metadata{}, c.err
	}
	resp, err := c.client.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id.FullID, Verbose: true})
	if err != nil {
		return Metadata{}, fmt.Errorf("cri: container status %s: %w", id.Short(), c.callError(ctx, err))
	}
	st := resp.GetStatus()
	labels := st.GetLabels()
	m := Metadata{Name: st.GetMetadata().GetName(), Image: st.GetImage().GetImage(), Labels: labels,
		CreatedTS: st.GetCreatedAt(), PodName: labels["io.kubernetes.pod.name"],
		PodUID: labels["io.kubernetes.pod.uid"], Namespace: labels["io.kubernetes.pod.namespace"]}
	imageRef := st.GetImageRef()
	if m.Image == "" || strings.HasPrefix(m.Image, "sha256:") {
		if r, _, ok := strings.Cut(imageRef, "@"); ok {
			m.Image = r
		}
	}
	m.ImageRepository, m.ImageTag, m.ImageDigest = SplitImage(m.Image)
	if _, dg, ok := strings.Cut(imageRef, "@"); ok && m.ImageDigest == "" {
		m.ImageDigest = dg
	}
	m.Privileged = infoPrivileged(resp.GetInfo()["info"])
	for _, mt := range st.GetMounts() {
		m.Mounts = append(m.Mounts, event.Mount{Source: mt.GetHostPath(), Dest: mt.GetContainerPath(),
			RW: !mt.GetReadonly(), Propagation: criPropagation(mt.GetPropagation())})
	}
	if sb := infoSandboxID(resp.GetInfo()["info"]); isHex64(sb) {
		m.SandboxID = sb
		c.sandbox(ctx, sb, &m)
	}
	return m, nil
}

// sandbox fills the pod's labels, host namespaces and IP from
// PodSandboxStatus; a failure leaves them unknown (the container's own
// metadata stands).
func (c *CRI) sandbox(ctx context.Context, id string, m *Metadata) {
	resp, err := c.client.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		return
	}
	st := resp.GetStatus()
	m.PodLabels = st.GetLabels()
	if md := st.GetMetadata(); md != nil && m.PodName == "" {
		// Containers not created by the kubelet lack its io.kubernetes.pod.* labels.
		m.PodName, m.Namespace, m.PodUID = md.GetName(), md.GetNamespace(), md.GetUid()
	}
	if ns := st.GetLinux().GetNamespaces().GetOptions(); ns != nil {
		host := func(mode runtimeapi.NamespaceMode) *bool { b := mode == runtimeapi.NamespaceMode_NODE; return &b }
		m.HostNetwork, m.HostPID, m.HostIPC = host(ns.GetNetwork()), host(ns.GetPid()), host(ns.GetIpc())
	}
	m.IP = st.GetNetwork().GetIp()
}

// criPropagation names a CRI mount propagation as the Docker API does.
func criPropagation(p runtimeapi.MountPropagation) string {
	switch p {
	case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
		return "rslave"
	case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
		return "rshared"
	}
	return "rprivate"
}

// infoSandboxID reads the pod sandbox id from the verbose "info" JSON
// (containerd's and cri-o's "sandboxID").
func infoSandboxID(info string) string {
	var v struct {
		SandboxID string `json:"sandboxID"`
	}
	if info == "" || json.Unmarshal([]byte(info), &v) != nil {
		return ""
	}
	return v.SandboxID
}

// callError maps a failed call: NOT_FOUND is ErrNotFound (never worth a
// retry); DEADLINE_EXCEEDED wraps context.DeadlineExceeded, and a call
// cancelled by ctx wraps ctx's error; every error but NOT_FOUND names the
// socket and keeps the gRPC status (status.Code still reads it).
func (c *CRI) callError(ctx context.Context, err error) error {
	s := status.Convert(err)
	switch s.Code() {
	case codes.NotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, s.Message())
	case codes.DeadlineExceeded:
		// The deadline travels as grpc-timeout: the runtime may report it
		// passed a moment before ctx itself does.
		return fmt.Errorf("CRI endpoint %s: %w (%w)", c.socket, context.DeadlineExceeded, err)
	case codes.Canceled:
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("CRI endpoint %s: %w (%w)", c.socket, cerr, err)
		}
	}
	return fmt.Errorf("CRI endpoint %s: %w", c.socket, err)
}

// infoPrivileged reads the privileged flag from the verbose "info" JSON:
// cri-o puts it at the top, containerd in the container config's Linux
// security context (Falco also looks under runtimeSpec).
func infoPrivileged(info string) *bool {
	if info == "" {
		return nil
	}
	var v struct {
		Privileged *bool `json:"privileged"`
		Config     struct {
			Linux struct {
				SecurityContext struct {
					Privileged *bool `json:"privileged"`
				} `json:"security_context"`
			} `json:"linux"`
		} `json:"config"`
		RuntimeSpec struct {
			Linux struct {
				SecurityContext struct {
					Privileged *bool `json:"privileged"`
				} `json:"security_context"`
			} `json:"linux"`
		} `json:"runtimeSpec"`
	}
	if json.Unmarshal([]byte(info), &v) != nil {
		return nil
	}
	for _, p := range []*bool{v.Privileged, v.Config.Linux.SecurityContext.Privileged, v.RuntimeSpec.Linux.SecurityContext.Privileged} {
		if p != nil {
			return p
		}
	}
	return nil
}
