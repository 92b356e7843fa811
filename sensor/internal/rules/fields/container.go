package fields

import (
	"sort"
	"strconv"
	"strings"

	"github.com/lookout-sec/lookout/router/api/glob"
	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// noMount is what container.mount.*[ARG] yield when no mount matches (or
// the container's mounts are not known, or the process is on the host).
// Falco's upstream rules test `not container.mount.dest[/etc] in
// ("<NA>","N/A")`, which must be false for a container without that mount:
// an unavailable value would make the negation true for every container.
const noMount = "N/A"

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
	cbool := func(name, desc string, get func(c *event.Container) *bool) {
		t.typed(name, KindBool, desc, procField(func(p *event.Process, dst []Value) []Value {
			if p.Container == nil {
				return dst
			}
			if b := get(p.Container); b != nil {
				return append(dst, bv(*b))
			}
			return dst
		}))
	}
	cstr("container.id", "host", "container id (12 characters), \"host\" on the host", func(c *event.Container) string { return c.ID })
	cstr("container.full_id", "host", "full container id, \"host\" on the host", func(c *event.Container) string { return c.FullID })
	cstr("container.name", "host", "container name, \"host\" on the host", func(c *event.Container) string { return c.Name })
	cstr("container.image", "", "container image (repository:tag)", func(c *event.Container) string { return c.Image })
	cstr("container.image.id", "", "container image id (12 characters)", func(c *event.Container) string { return c.ImageID })
	cstr("container.image.repository", "", "container image repository", func(c *event.Container) string { return c.ImageRepository })
	cstr("container.image.tag", "", "container image tag", func(c *event.Container) string { return c.ImageTag })
	cstr("container.image.digest", "", "container image digest", func(c *event.Container) string { return c.ImageDigest })
	cstr("container.type", "", "container runtime: docker, containerd, cri-o, podman", func(c *event.Container) string { return c.Runtime })
	cstr("container.ip", "", "the container's primary IPv4 address, from the runtime", func(c *event.Container) string { return c.IP })
	cstr("container.healthcheck", "", "the container's health check command line; \"NONE\" when it has none", func(c *event.Container) string {
		if c.Healthcheck == "" && c.Metadata {
			return "NONE"
		}
		return c.Healthcheck
	})
	cstr("k8s.ns.name", "", "Kubernetes namespace of the pod", func(c *event.Container) string { return c.Namespace })
	cstr("k8s.pod.name", "", "Kubernetes pod name", func(c *event.Container) string { return c.PodName })
	cstr("k8s.pod.uid", "", "Kubernetes pod uid", func(c *event.Container) string { return c.PodUID })
	cstr("k8s.pod.id", "", "legacy name of k8s.pod.uid", func(c *event.Container) string { return c.PodUID })
	cstr("k8s.pod.ip", "", "the pod's IPv4 address (the container's)", func(c *event.Container) string {
		if c.PodName == "" {
			return ""
		}
		return c.IP
	})
	cstr("k8s.pod.full_sandbox_id", "", "full container id of the pod sandbox", func(c *event.Container) string { return c.SandboxID })
	cstr("k8s.pod.sandbox_id", "", "container id of the pod sandbox (12 characters)", func(c *event.Container) string {
		if len(c.SandboxID) > 12 {
			return c.SandboxID[:12]
		}
		return c.SandboxID
	})
	cstr("k8s.workload.name", "", "Lookout: name of the workload owning the pod (Deployment, StatefulSet, DaemonSet, Job, CronJob; the pod itself for a bare pod), derived from the pod's labels and name (see docs/rules-fields.md)", func(c *event.Container) string { return c.WorkloadName })
	cstr("k8s.workload.kind", "", "Lookout: kind of that workload: Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod", func(c *event.Container) string { return c.WorkloadKind })
	cbool("container.privileged", "the container runs privileged", func(c *event.Container) *bool { return c.Privileged })
	cbool("container.host_pid", "the container runs in the host's pid namespace", func(c *event.Container) *bool { return c.HostPID })
	cbool("container.host_network", "the container runs in the host's network namespace", func(c *event.Container) *bool { return c.HostNetwork })
	cbool("container.host_ipc", "the container runs in the host's IPC namespace", func(c *event.Container) *bool { return c.HostIPC })
	t.typed("container.start_ts", KindAbsTime, "container start time (ns since the epoch)", procField(func(p *event.Process, dst []Value) []Value {
		if p.Container == nil || p.Container.StartTS == 0 {
			return dst
		}
		return append(dst, atv(p.Container.StartTS))
	}))
	t.typed("container.duration", KindRelTime, "ns since container.start_ts", func(ev *event.Event, dst []Value) []Value {
		if ev.Proc == nil || ev.Proc.Container == nil || ev.Proc.Container.StartTS == 0 {
			return dst
		}
		return append(dst, rtv(ev.TS-ev.Proc.Container.StartTS))
	})
	t.labels("container.label", "container.labels", "container label", func(c *event.Container) map[string]string { return c.Labels })
	t.labels("k8s.pod.label", "k8s.pod.labels", "pod label", func(c *event.Container) map[string]string { return c.PodLabels })
	t.addMounts()
}

// labels declares NAME[KEY] (also NAME.KEY) and the list field, rendered
// as Falco does: "k1:v1,k2:v2", sorted by key.
func (t *Table) labels(one, all, what string, get func(c *event.Container) map[string]string) {
	t.add(&def{name: one, kind: KindString, dotted: true, argDoc: "[KEY] or .KEY",
		desc: "value of a " + what,
		build: func(arg string) (extractFn, bool, error) {
			if arg == "" {
				return nil, false, errArg("expected a label key: " + one + "[app]")
			}
			return procField(func(p *event.Process, dst []Value) []Value {
				if p.Container == nil {
					return dst
				}
				v, ok := get(p.Container)[arg]
				if !ok {
					return dst
				}
				return append(dst, sv(v))
			}), false, nil
		}})
	t.str(all, "every "+what+" as key:value, comma-separated, sorted by key", procField(func(p *event.Process, dst []Value) []Value {
		if p.Container == nil {
			return dst
		}
		m := get(p.Container)
		if len(m) == 0 {
			return dst
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k)
			b.WriteByte(':')
			b.WriteString(m[k])
		}
		return append(dst, sv(b.String()))
	}))
}

// mountString is Falco's "source:dest:mode:rdrw:propagation".
func mountString(m *event.Mount) string {
	return m.Source + ":" + m.Dest + ":" + m.Mode + ":" + strconv.FormatBool(m.RW) + ":" + m.Propagation
}

// addMounts declares container.mounts and container.mount*[N or PATTERN].
// As in Falco, a numeric argument is an index; otherwise it is a glob
// matched against the mount's source (its destination for
// container.mount.source), and the first matching mount is used.
func (t *Table) addMounts() {
	t.str("container.mounts", "every mount as source:dest:mode:rdrw:propagation, space-separated", procField(func(p *event.Process, dst []Value) []Value {
		if p.Container == nil || !p.Container.Metadata {
			return dst
		}
		parts := make([]string, len(p.Container.Mounts))
		for i := range p.Container.Mounts {
			parts[i] = mountString(&p.Container.Mounts[i])
		}
		return append(dst, sv(strings.Join(parts, " ")))
	}))
	mount := func(name, desc, by, none string, byDest bool, get func(m *event.Mount) string) {
		t.add(&def{name: name, kind: KindString, argDoc: "[N] or [PATTERN]",
			desc: desc + ", of mount N or of the first mount whose " + by + " matches the glob PATTERN; " + strconv.Quote(none) + " when none does",
			build: func(arg string) (extractFn, bool, error) {
				if arg == "" {
					return nil, false, errArg("expected a mount index or path: " + name + "[/etc]")
				}
				idx, err := strconv.Atoi(arg)
				isIdx := err == nil && idx >= 0
				return procField(func(p *event.Process, dst []Value) []Value {
					if p.Container == nil {
						return append(dst, sv(none))
					}
					ms := p.Container.Mounts
					if isIdx {
						if idx < len(ms) {
							return append(dst, sv(get(&ms[idx])))
						}
						return append(dst, sv(none))
					}
					for i := range ms {
						key := ms[i].Source
						if byDest {
							key = ms[i].Dest
						}
						if glob.Match(arg, key, false) {
							return append(dst, sv(get(&ms[i])))
						}
					}
					return append(dst, sv(none))
				}), false, nil
			}})
	}
	mount("container.mount", "a mount as source:dest:mode:rdrw:propagation", "source", "none", false, mountString)
	mount("container.mount.source", "mount source", "destination", noMount, true, func(m *event.Mount) string { return m.Source })
	mount("container.mount.dest", "mount destination", "source", noMount, false, func(m *event.Mount) string { return m.Dest })
	mount("container.mount.mode", "mount mode", "source", noMount, false, func(m *event.Mount) string { return m.Mode })
	mount("container.mount.rdwr", "mount read-write: true or false", "source", noMount, false, func(m *event.Mount) string { return strconv.FormatBool(m.RW) })
	mount("container.mount.propagation", "mount propagation", "source", noMount, false, func(m *event.Mount) string { return m.Propagation })
}
