package fields

import (
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/valyala/fastjson"
)

// containerLists are the pod spec's container arrays the ka.req.pod.*
// fields read: "containers" for ka.req.pod.containers.*, and the init and
// ephemeral lists for ka.req.pod.initContainers.* and
// ka.req.pod.ephemeralContainers.*.
var containerLists = []string{"containers", "initContainers", "ephemeralContainers"}

// perContainer extracts one value per container of the list (element
// index only when index >= 0) with get; get returning ok=false makes the
// whole field unavailable (the plugin's "every container must have it"),
// a nil value with ok=true skips the container.
func perContainer(list string, get func(c *fastjson.Value) (*fastjson.Value, bool)) func(index int) extractFn {
	return func(index int) extractFn {
		return func(ev *event.Event, dst []Value) []Value {
			d := doc(ev)
			if d == nil {
				return dst
			}
			cs, ok := array(d, index, "requestObject", "spec", list)
			if !ok {
				return dst
			}
			n := len(dst)
			for _, c := range cs {
				v, ok := get(c)
				if !ok {
					return dst[:n]
				}
				if v != nil {
					dst = append(dst, sv(jsonString(v)))
				}
			}
			return dst
		}
	}
}

// required is a container key every container must have.
func required(keys ...string) func(c *fastjson.Value) (*fastjson.Value, bool) {
	return func(c *fastjson.Value) (*fastjson.Value, bool) {
		v := c.Get(keys...)
		return v, v != nil
	}
}

// optional is a container key that containers may lack (skipped).
func optional(keys ...string) func(c *fastjson.Value) (*fastjson.Value, bool) {
	return func(c *fastjson.Value) (*fastjson.Value, bool) { return c.Get(keys...), true }
}

// repository is an image reference without its tag or digest, as the
// plugin computes it (the text before the first ':' and then '@').
func repository(image string) string {
	image, _, _ = strings.Cut(image, ":")
	image, _, _ = strings.Cut(image, "@")
	return image
}

func (t *Table) addKAPod() {
	for _, list := range containerLists {
		p := "ka.req.pod." + list + "."
		t.indexed(p+"image", "for a pod, the images of its "+list, perContainer(list, required("image")))
		t.indexed(p+"image.repository", "for a pod, the image repositories (no tag or digest) of its "+list, func(idx int) extractFn {
			images := perContainer(list, required("image"))(idx)
			return func(ev *event.Event, dst []Value) []Value {
				n := len(dst)
				dst = images(ev, dst)
				for i := n; i < len(dst); i++ {
					dst[i].Str = repository(dst[i].Str)
				}
				return dst
			}
		})
		t.indexed(p+"privileged", "for a pod, the privileged flag of its "+list+" that set it", perContainer(list, optional("securityContext", "privileged")))
	}
	c := "ka.req.pod.containers."
	t.indexed(c+"allow_privilege_escalation", "for a pod, the allowPrivilegeEscalation flag of every container", perContainer("containers", required("securityContext", "allowPrivilegeEscalation")))
	t.indexed(c+"read_only_fs", "for a pod, the readOnlyRootFilesystem flag of every container", perContainer("containers", required("securityContext", "readOnlyRootFilesystem")))
	t.indexed(c+"run_as_user", "for a pod, the runAsUser of every container", perContainer("containers", required("securityContext", "runAsUser")))
	t.indexed(c+"run_as_group", "for a pod, the runAsGroup of every container", perContainer("containers", required("securityContext", "runAsGroup")))
	t.indexed(c+"proc_mount", "for a pod, the procMount of every container", perContainer("containers", required("securityContext", "procMount")))
	t.indexed(c+"add_capabilities", "for a pod, the capabilities added to every container (each as JSON)", perContainer("containers", required("securityContext", "capabilities", "add")))
	for _, k := range []string{"runAsUser", "runAsGroup"} {
		name := map[string]string{"runAsUser": "eff_run_as_user", "runAsGroup": "eff_run_as_group"}[k]
		t.indexed(c+name, "for a pod, the "+k+" every container starts with: the container's, else the pod's, else 0", func(idx int) extractFn {
			return func(ev *event.Event, dst []Value) []Value {
				d := doc(ev)
				if d == nil {
					return dst
				}
				pod := "0"
				if v := d.Get("requestObject", "spec", "securityContext", k); v != nil {
					pod = jsonString(v)
				}
				cs, ok := array(d, idx, "requestObject", "spec", "containers")
				if !ok {
					return dst
				}
				for _, ct := range cs {
					if v := ct.Get("securityContext", k); v != nil {
						dst = append(dst, sv(jsonString(v)))
					} else {
						dst = append(dst, sv(pod))
					}
				}
				return dst
			}
		})
	}
	t.indexed(c+"host_port", "for a pod, the host ports of its containers (containerPort when no hostPort)", func(idx int) extractFn {
		return func(ev *event.Event, dst []Value) []Value {
			d := doc(ev)
			if d == nil {
				return dst
			}
			cs, ok := array(d, idx, "requestObject", "spec", "containers")
			if !ok {
				return dst
			}
			for _, ct := range cs {
				for _, port := range ct.GetArray("ports") {
					if v := port.Get("hostPort"); v != nil {
						dst = append(dst, sv(jsonString(v)))
					} else if v := port.Get("containerPort"); v != nil {
						dst = append(dst, sv(jsonString(v)))
					}
				}
			}
			return dst
		}
	})
	first := func(keys ...string) extractFn {
		return func(ev *event.Event, dst []Value) []Value {
			d := doc(ev)
			if d == nil {
				return dst
			}
			cs, ok := array(d, 0, "requestObject", "spec", "containers")
			if !ok {
				return dst
			}
			v := cs[0].Get(keys...)
			if v == nil {
				return dst
			}
			return append(dst, sv(jsonString(v)))
		}
	}
	t.add(&def{name: "ka.req.container.image", kind: KindString, desc: "deprecated: the first container's image", ex: first("image")})
	t.add(&def{name: "ka.req.container.image.repository", kind: KindString, desc: "deprecated: the first container's image repository",
		ex: func(ev *event.Event, dst []Value) []Value {
			n := len(dst)
			dst = first("image")(ev, dst)
			if len(dst) > n {
				dst[n].Str = repository(dst[n].Str)
			}
			return dst
		}})
	t.add(&def{name: "ka.req.container.privileged", kind: KindString, desc: "deprecated: true if any container is privileged",
		ex: func(ev *event.Event, dst []Value) []Value {
			d := doc(ev)
			if d == nil {
				return dst
			}
			cs, ok := array(d, -1, "requestObject", "spec", "containers")
			if !ok {
				return dst
			}
			for _, ct := range cs {
				if ct.GetBool("securityContext", "privileged") {
					return append(dst, sv("true"))
				}
			}
			return append(dst, sv("false"))
		}})
	t.kaStr("ka.req.pod.host_ipc", "for a pod, its hostIPC flag", "requestObject", "spec", "hostIPC")
	t.kaStr("ka.req.pod.host_network", "for a pod, its hostNetwork flag", "requestObject", "spec", "hostNetwork")
	t.kaStr("ka.req.container.host_network", "deprecated alias of ka.req.pod.host_network", "requestObject", "spec", "hostNetwork")
	t.kaStr("ka.req.pod.host_pid", "for a pod, its hostPID flag", "requestObject", "spec", "hostPID")
	t.kaStr("ka.req.pod.run_as_user", "for a pod, the pod security context's runAsUser", "requestObject", "spec", "securityContext", "runAsUser")
	t.kaStr("ka.req.pod.run_as_group", "for a pod, the pod security context's runAsGroup", "requestObject", "spec", "securityContext", "runAsGroup")
	t.kaStr("ka.req.pod.fs_group", "for a pod, the pod security context's fsGroup", "requestObject", "spec", "securityContext", "fsGroup")
	t.kaList("ka.req.pod.supplemental_groups", "for a pod, the pod security context's supplementalGroups", "requestObject", "spec", "securityContext", "supplementalGroups")
	volumes := func(keys ...string) func(idx int) extractFn {
		return func(idx int) extractFn {
			return func(ev *event.Event, dst []Value) []Value {
				d := doc(ev)
				if d == nil {
					return dst
				}
				vs, ok := array(d, idx, "requestObject", "spec", "volumes")
				if !ok {
					return dst
				}
				for _, v := range vs {
					if x := v.Get(keys...); x != nil {
						dst = append(dst, sv(jsonString(x)))
					}
				}
				return dst
			}
		}
	}
	t.indexed("ka.req.pod.volumes.hostpath", "for a pod, the hostPath paths of its volumes", volumes("hostPath", "path"))
	t.indexed("ka.req.pod.volumes.flexvolume_driver", "for a pod, the flexVolume drivers of its volumes", volumes("flexVolume", "driver"))
	t.indexed("ka.req.pod.volumes.volume_type", "for a pod, the type (every key but name) of its volumes", func(idx int) extractFn {
		return func(ev *event.Event, dst []Value) []Value {
			d := doc(ev)
			if d == nil {
				return dst
			}
			vs, ok := array(d, idx, "requestObject", "spec", "volumes")
			if !ok {
				return dst
			}
			for _, v := range vs {
				o, err := v.Object()
				if err != nil {
					continue
				}
				o.Visit(func(key []byte, _ *fastjson.Value) {
					if string(key) != "name" {
						dst = append(dst, sv(string(key)))
					}
				})
			}
			return dst
		}
	})
	t.keyed("ka.req.volume.hostpath", "deprecated: true if a volume uses the host path (a trailing * matches a prefix)", func(arg string) extractFn {
		paths := volumes("hostPath", "path")(-1)
		return func(ev *event.Event, dst []Value) []Value {
			if doc(ev) == nil {
				return dst
			}
			var buf [8]Value
			prefix, isPrefix := strings.CutSuffix(arg, "*")
			for _, p := range paths(ev, buf[:0]) {
				if isPrefix && strings.HasPrefix(p.Str, prefix) || p.Str == arg {
					return append(dst, sv("true"))
				}
			}
			return append(dst, sv("false"))
		}
	})
}
