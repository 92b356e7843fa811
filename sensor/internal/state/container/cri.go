package container

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Default CRI sockets of containerd and cri-o.
const (
	DefaultContainerdSocket = "/run/containerd/containerd.sock"
	DefaultCRIOSocket       = "/var/run/crio/crio.sock"
)

// criStatusPath is the gRPC method the client calls: RuntimeService's
// ContainerStatus in the CRI v1 API (k8s.io/cri-api runtime/v1/api.proto).
const criStatusPath = "/runtime.v1.RuntimeService/ContainerStatus"

// CRI is a client for the Kubernetes Container Runtime Interface over a
// unix socket: gRPC unary calls as HTTP/2 without TLS (net/http, no gRPC
// library) with hand-decoded protobuf, reading only the fields the sensor
// needs. It asks ContainerStatus with verbose info.
type CRI struct {
	socket string
	hc     *http.Client
}

// NewCRI returns a client for the CRI endpoint at socket. It does not
// connect until the first Fetch.
func NewCRI(socket string) *CRI {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		Protocols: new(http.Protocols),
	}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &CRI{socket: socket, hc: &http.Client{Transport: tr}}
}

// Close releases idle connections.
func (c *CRI) Close() { c.hc.CloseIdleConnections() }

// Fetch calls ContainerStatus(id, verbose) and maps the status: name from
// the metadata, image from the image spec (falling back to image_ref),
// digest from image_ref, created_at, labels (io.kubernetes.pod.* give the
// pod), and privileged from the verbose info JSON.
func (c *CRI) Fetch(ctx context.Context, id ID) (Metadata, error) {
	if !isHex64(id.FullID) {
		return Metadata{}, fmt.Errorf("cri: container id %q is not 64 hex characters", id.FullID)
	}
	var req []byte
	req = appendProtoString(req, 1, id.FullID)
	req = append(req, 2<<3|0, 1) // verbose = true
	body, err := c.unary(ctx, criStatusPath, req)
	if err != nil {
		return Metadata{}, fmt.Errorf("cri: container status %s: %w", id.Short(), err)
	}
	st, err := parseStatusResponse(body)
	if err != nil {
		return Metadata{}, fmt.Errorf("cri: container status %s from %s: %w", id.Short(), c.socket, err)
	}
	m := Metadata{Name: st.name, Image: st.image, Labels: st.labels, CreatedTS: st.createdAt,
		PodName: st.labels["io.kubernetes.pod.name"], PodUID: st.labels["io.kubernetes.pod.uid"],
		Namespace: st.labels["io.kubernetes.pod.namespace"]}
	if m.Image == "" || strings.HasPrefix(m.Image, "sha256:") {
		if r, _, ok := strings.Cut(st.imageRef, "@"); ok {
			m.Image = r
		}
	}
	m.ImageRepository, m.ImageTag, m.ImageDigest = SplitImage(m.Image)
	if _, dg, ok := strings.Cut(st.imageRef, "@"); ok && m.ImageDigest == "" {
		m.ImageDigest = dg
	}
	m.Privileged = infoPrivileged(st.info["info"])
	return m, nil
}

// unary makes one gRPC call: a length-prefixed request message, one
// response message, the status in the trailers (or the headers for a
// trailers-only answer).
func (c *CRI) unary(ctx context.Context, method string, msg []byte) ([]byte, error) {
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	frame = append(frame, msg...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://localhost"+method, bytes.NewReader(frame))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	if dl, ok := ctx.Deadline(); ok {
		req.Header.Set("Grpc-Timeout", strconv.FormatInt(max(time.Until(dl).Milliseconds(), 1), 10)+"m")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("CRI endpoint %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("CRI endpoint %s: HTTP %s", c.socket, resp.Status)
	}
	if err := grpcStatus(resp.Header); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("CRI endpoint %s: read response: %w", c.socket, err)
	}
	if err := grpcStatus(resp.Trailer); err != nil {
		return nil, err
	}
	if resp.Trailer.Get("Grpc-Status") == "" && resp.Header.Get("Grpc-Status") == "" {
		return nil, errors.New("response without grpc-status")
	}
	if len(data) < 5 {
		return nil, fmt.Errorf("response of %d bytes has no gRPC message", len(data))
	}
	if data[0] != 0 {
		return nil, errors.New("compressed gRPC response (not requested, not supported)")
	}
	n := binary.BigEndian.Uint32(data[1:5])
	if int(n) > len(data)-5 {
		return nil, fmt.Errorf("gRPC message of %d bytes truncated to %d", n, len(data)-5)
	}
	return data[5 : 5+n], nil
}

// grpcStatus turns a non-OK grpc-status into an error; NOT_FOUND (5) is
// ErrNotFound.
func grpcStatus(h http.Header) error {
	s := h.Get("Grpc-Status")
	if s == "" || s == "0" {
		return nil
	}
	msg := h.Get("Grpc-Message")
	if s == "5" {
		return fmt.Errorf("%w: %s", ErrNotFound, msg)
	}
	return fmt.Errorf("gRPC status %s: %s", s, msg)
}

// criStatus is the part of ContainerStatusResponse the sensor reads.
type criStatus struct {
	name, image, imageRef string
	createdAt             int64
	labels                map[string]string
	info                  map[string]string
}

// parseStatusResponse decodes ContainerStatusResponse{status = 1, info = 2}.
func parseStatusResponse(b []byte) (criStatus, error) {
	var st criStatus
	err := walkProto(b, func(num int, wt int, v uint64, data []byte) error {
		switch {
		case num == 1 && wt == 2:
			return parseContainerStatus(data, &st)
		case num == 2 && wt == 2:
			k, val, err := parseMapEntry(data)
			if err != nil {
				return fmt.Errorf("info entry: %w", err)
			}
			if st.info == nil {
				st.info = map[string]string{}
			}
			st.info[k] = val
		}
		return nil
	})
	return st, err
}

// parseContainerStatus decodes ContainerStatus: metadata = 2 {name = 1},
// created_at = 4, image = 8 {image = 1}, image_ref = 9, labels = 12.
func parseContainerStatus(b []byte, st *criStatus) error {
	return walkProto(b, func(num int, wt int, v uint64, data []byte) error {
		switch {
		case num == 2 && wt == 2:
			return walkProto(data, func(n, w int, _ uint64, d []byte) error {
				if n == 1 && w == 2 {
					st.name = string(d)
				}
				return nil
			})
		case num == 4 && wt == 0:
			st.createdAt = int64(v)
		case num == 8 && wt == 2:
			return walkProto(data, func(n, w int, _ uint64, d []byte) error {
				if n == 1 && w == 2 {
					st.image = string(d)
				}
				return nil
			})
		case num == 9 && wt == 2:
			st.imageRef = string(data)
		case num == 12 && wt == 2:
			k, val, err := parseMapEntry(data)
			if err != nil {
				return fmt.Errorf("label entry: %w", err)
			}
			if st.labels == nil {
				st.labels = map[string]string{}
			}
			st.labels[k] = val
		}
		return nil
	})
}

func parseMapEntry(b []byte) (key, val string, err error) {
	err = walkProto(b, func(n, w int, _ uint64, d []byte) error {
		if w == 2 && n == 1 {
			key = string(d)
		} else if w == 2 && n == 2 {
			val = string(d)
		}
		return nil
	})
	return key, val, err
}

// walkProto calls fn for each field of a protobuf message: varints in v,
// length-delimited fields in data; fixed-size fields are skipped.
func walkProto(b []byte, fn func(num, wireType int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("protobuf: bad field key")
		}
		b = b[n:]
		num, wt := int(key>>3), int(key&7)
		var v uint64
		var data []byte
		switch wt {
		case 0:
			v, n = binary.Uvarint(b)
			if n <= 0 {
				return fmt.Errorf("protobuf: bad varint in field %d", num)
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return fmt.Errorf("protobuf: short fixed64 in field %d", num)
			}
			b = b[8:]
			continue
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return fmt.Errorf("protobuf: bad length in field %d", num)
			}
			data = b[n : n+int(l)]
			b = b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return fmt.Errorf("protobuf: short fixed32 in field %d", num)
			}
			b = b[4:]
			continue
		default:
			return fmt.Errorf("protobuf: unsupported wire type %d in field %d", wt, num)
		}
		if err := fn(num, wt, v, data); err != nil {
			return err
		}
	}
	return nil
}

func appendProtoString(b []byte, num int, s string) []byte {
	b = binary.AppendUvarint(b, uint64(num)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
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
