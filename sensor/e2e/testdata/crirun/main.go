// Command crirun starts one Kubernetes-style pod through a CRI endpoint
// (as the kubelet would), for the sensor's CRI end-to-end test: a pod
// sandbox with the given labels on the host network, one container in it
// running the given command, waits for it to exit and removes both. It
// prints "container <id>" and "sandbox <id>" first.
//
//	crirun -socket S -image I -pod NAME -ns NS -label k=v ... -- CMD ARGS
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type labels map[string]string

func (l labels) String() string { return fmt.Sprint(map[string]string(l)) }
func (l labels) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("expected key=value, got %q", s)
	}
	l[k] = v
	return nil
}

func main() {
	socket := flag.String("socket", "", "CRI socket")
	image := flag.String("image", "", "image (also the sandbox image)")
	pod := flag.String("pod", "", "pod name")
	ns := flag.String("ns", "default", "namespace")
	uid := flag.String("uid", "", "pod uid")
	lb := labels{}
	flag.Var(lb, "label", "pod label key=value (repeatable)")
	flag.Parse()
	if err := run(*socket, *image, *pod, *ns, *uid, lb, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "crirun:", err)
		os.Exit(1)
	}
}

func run(socket, image, pod, ns, uid string, lb labels, cmd []string) error {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sbCfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: pod, Namespace: ns, Uid: uid},
		Labels:   lb,
		// The kubelet's cgroupfs-driver layout.
		Linux: &runtimeapi.LinuxPodSandboxConfig{CgroupParent: "/kubepods/besteffort/pod" + uid, SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}},
	}
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbCfg})
	if err != nil {
		return fmt.Errorf("run pod sandbox: %w", err)
	}
	defer func() {
		_, _ = rt.StopPodSandbox(context.Background(), &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.PodSandboxId})
		_, _ = rt.RemovePodSandbox(context.Background(), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.PodSandboxId})
	}()
	ct, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId, SandboxConfig: sbCfg,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "main"},
			Image:    &runtimeapi.ImageSpec{Image: image},
			Command:  cmd,
			// The labels the kubelet puts on every container.
			Labels: map[string]string{"io.kubernetes.pod.name": pod, "io.kubernetes.pod.namespace": ns,
				"io.kubernetes.pod.uid": uid, "io.kubernetes.container.name": "main"},
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}},
		}})
	if err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	fmt.Println("container", ct.ContainerId)
	fmt.Println("sandbox", sb.PodSandboxId)
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ct.ContainerId}); err != nil {
		return fmt.Errorf("start container: %w", err)
	}
	for {
		st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ct.ContainerId})
		if err != nil {
			return fmt.Errorf("container status: %w", err)
		}
		if st.GetStatus().GetState() == runtimeapi.ContainerState_CONTAINER_EXITED {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	_, _ = rt.RemoveContainer(context.Background(), &runtimeapi.RemoveContainerRequest{ContainerId: ct.ContainerId})
	return nil
}
