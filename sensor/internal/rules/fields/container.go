package fields

import "github.com/lookout-sec/lookout/sensor/internal/event"

// addContainer declares container.* and k8s.*. A process without a
// container is on the host: container.id and container.name are "host",
// the rest is unavailable.
func (t *Table) addContainer() {
	cstr := func(name, host, desc string, get func(c *event.Container) string) {
		t.str(name, desc, procField(func(p *event.Process, dst []Value) []Value {
			if p.Container == nil {
				return nonEmpty(dst, host)
			}
			return nonEmpty(dst, get(p.Container))
		}))
	}
	cstr("container.id", "host", "container id (12 characters), \"host\" on the host", func(c *event.Container) string { return c.ID })
	cstr("container.full_id", "host", "full container id, \"host\" on the host", func(c *event.Container) string { return c.FullID })
	cstr("container.name", "host", "container name, \"host\" on the host", func(c *event.Container) string { return c.Name })
	cstr("container.image", "", "container image (repository:tag)", func(c *event.Container) string { return c.Image })
	cstr("container.image.repository", "", "container image repository", func(c *event.Container) string { return c.ImageRepository })
	cstr("container.image.tag", "", "container image tag", func(c *event.Container) string { return c.ImageTag })
	cstr("container.image.digest", "", "container image digest", func(c *event.Container) string { return c.ImageDigest })
	cstr("container.type", "", "container runtime: docker, containerd, cri-o, podman", func(c *event.Container) string { return c.Runtime })
	cstr("k8s.ns.name", "", "Kubernetes namespace of the pod", func(c *event.Container) string { return c.Namespace })
	cstr("k8s.pod.name", "", "Kubernetes pod name", func(c *event.Container) string { return c.PodName })
	cstr("k8s.pod.uid", "", "Kubernetes pod uid", func(c *event.Container) string { return c.PodUID })
	t.typed("container.privileged", KindBool, "the container runs privileged", procField(func(p *event.Process, dst []Value) []Value {
		if p.Container == nil || p.Container.Privileged == nil {
			return dst
		}
		return append(dst, bv(*p.Container.Privileged))
	}))
	t.typed("container.start_ts", KindAbsTime, "container start time (ns since the epoch)", procField(func(p *event.Process, dst []Value) []Value {
		if p.Container == nil || p.Container.StartTS == 0 {
			return dst
		}
		return append(dst, atv(p.Container.StartTS))
	}))
	t.add(&def{name: "k8s.pod.label", kind: KindString, dotted: true, argDoc: "[KEY] or .KEY",
		desc: "value of a pod label",
		build: func(arg string) (extractFn, bool, error) {
			if arg == "" {
				return nil, false, errArg("expected a label key: k8s.pod.label[app]")
			}
			return procField(func(p *event.Process, dst []Value) []Value {
				if p.Container == nil {
					return dst
				}
				v, ok := p.Container.PodLabels[arg]
				if !ok {
					return dst
				}
				return append(dst, sv(v))
			}), false, nil
		}})
}
