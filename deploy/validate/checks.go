package validate

import (
	"errors"
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// check runs the API-server validations that strict decoding cannot see
// and that a chart most often gets wrong.
func check(o Object) error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	meta := objectMeta(o.Value)
	if meta != nil {
		if meta.Name == "" {
			add("metadata.name: is required")
		} else {
			for _, msg := range nameErrors(o.Kind, meta.Name) {
				add("metadata.name: %q: %s", meta.Name, msg)
			}
		}
		errs = append(errs, labelErrors("metadata.labels", meta.Labels)...)
	}
	switch v := o.Value.(type) {
	case *appsv1.DaemonSet:
		errs = append(errs, workloadErrors(v.Spec.Selector, &v.Spec.Template, nil)...)
	case *appsv1.Deployment:
		errs = append(errs, workloadErrors(v.Spec.Selector, &v.Spec.Template, nil)...)
	case *appsv1.StatefulSet:
		if v.Spec.ServiceName == "" {
			add("spec.serviceName: is required (the headless Service that governs the pods)")
		}
		claims := map[string]bool{}
		for _, c := range v.Spec.VolumeClaimTemplates {
			claims[c.Name] = true
		}
		errs = append(errs, workloadErrors(v.Spec.Selector, &v.Spec.Template, claims)...)
	case *corev1.Service:
		errs = append(errs, serviceErrors(v)...)
	case *corev1.ConfigMap:
		for k := range v.Data {
			for _, msg := range validation.IsConfigMapKey(k) {
				add("data[%q]: %s", k, msg)
			}
		}
	case *corev1.Secret:
		for k := range v.Data {
			for _, msg := range validation.IsConfigMapKey(k) {
				add("data[%q]: %s", k, msg)
			}
		}
		for k := range v.StringData {
			for _, msg := range validation.IsConfigMapKey(k) {
				add("stringData[%q]: %s", k, msg)
			}
		}
	case *monitoringv1.ServiceMonitor:
		if len(v.Spec.Endpoints) == 0 {
			add("spec.endpoints: at least one endpoint is required")
		}
		for i, e := range v.Spec.Endpoints {
			if e.Port == "" && e.TargetPort == nil {
				add("spec.endpoints[%d]: port or targetPort is required", i)
			}
		}
	}
	return errors.Join(errs...)
}

func objectMeta(v any) *metav1.ObjectMeta {
	if m, ok := v.(interface{ GetObjectMeta() metav1.Object }); ok {
		if om, ok := m.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return om
		}
	}
	return nil
}

func nameErrors(kind, name string) []string {
	if kind == "Service" {
		return validation.IsDNS1035Label(name)
	}
	return validation.IsDNS1123Subdomain(name)
}

func labelErrors(path string, l map[string]string) []error {
	var errs []error
	for k, v := range l {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("%s: key %q: %s", path, k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Errorf("%s[%q]: value %q: %s", path, k, v, msg))
		}
	}
	return errs
}

// workloadErrors checks a controller's selector against its pod template
// and the pod spec. claims are volume names provided by volumeClaimTemplates.
func workloadErrors(sel *metav1.LabelSelector, t *corev1.PodTemplateSpec, claims map[string]bool) []error {
	var errs []error
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		errs = append(errs, errors.New("spec.selector: is required and must not be empty"))
	} else if s, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		errs = append(errs, fmt.Errorf("spec.selector: %w", err))
	} else if !s.Matches(labels.Set(t.Labels)) {
		errs = append(errs, fmt.Errorf("spec.template.metadata.labels: %v do not match spec.selector %s", t.Labels, s))
	}
	errs = append(errs, labelErrors("spec.template.metadata.labels", t.Labels)...)
	return append(errs, podErrors("spec.template.spec", &t.Spec, claims)...)
}

func podErrors(path string, p *corev1.PodSpec, claims map[string]bool) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(path+"."+format, a...)) }
	if len(p.Containers) == 0 {
		add("containers: at least one container is required")
	}
	volumes := map[string]bool{}
	for name := range claims {
		volumes[name] = true
	}
	for i, v := range p.Volumes {
		if volumes[v.Name] {
			add("volumes[%d].name: %q is used twice", i, v.Name)
		}
		volumes[v.Name] = true
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			add("volumes[%d].name: %q: %s", i, v.Name, msg)
		}
		if v.HostPath != nil && !strings.HasPrefix(v.HostPath.Path, "/") {
			add("volumes[%d].hostPath.path: %q must be absolute", i, v.HostPath.Path)
		}
	}
	names := map[string]bool{}
	all := map[string][]corev1.Container{"initContainers": p.InitContainers, "containers": p.Containers}
	for _, field := range []string{"initContainers", "containers"} {
		for i, c := range all[field] {
			cp := fmt.Sprintf("%s[%d]", field, i)
			if names[c.Name] {
				add("%s.name: %q is used twice", cp, c.Name)
			}
			names[c.Name] = true
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				add("%s.name: %q: %s", cp, c.Name, msg)
			}
			if c.Image == "" {
				add("%s.image: is required", cp)
			}
			errs = append(errs, containerErrors(path+"."+cp, c, volumes)...)
		}
	}
	return errs
}

func containerErrors(path string, c corev1.Container, volumes map[string]bool) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(path+"."+format, a...)) }
	ports := map[string]bool{}
	for i, p := range c.Ports {
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			add("ports[%d].containerPort: %d is not in 1-65535", i, p.ContainerPort)
		}
		if p.Name != "" {
			for _, msg := range validation.IsValidPortName(p.Name) {
				add("ports[%d].name: %q: %s", i, p.Name, msg)
			}
			ports[p.Name] = true
		}
	}
	for i, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			add("volumeMounts[%d].name: %q is not a volume of the pod", i, m.Name)
		}
		if !strings.HasPrefix(m.MountPath, "/") {
			add("volumeMounts[%d].mountPath: %q must be absolute", i, m.MountPath)
		}
	}
	for i, e := range c.Env {
		for _, msg := range validation.IsEnvVarName(e.Name) {
			add("env[%d].name: %q: %s", i, e.Name, msg)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			if r := e.ValueFrom.SecretKeyRef; r.Name == "" || r.Key == "" {
				add("env[%d].valueFrom.secretKeyRef: name and key are required", i)
			}
		}
	}
	for _, pr := range []struct {
		name string
		p    *corev1.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if pr.p == nil || pr.p.HTTPGet == nil {
			continue
		}
		if port := pr.p.HTTPGet.Port; port.StrVal != "" && !ports[port.StrVal] {
			add("%s.httpGet.port: %q is not a named port of the container", pr.name, port.StrVal)
		}
	}
	return errs
}

func serviceErrors(s *corev1.Service) []error {
	var errs []error
	if len(s.Spec.Ports) == 0 && s.Spec.ClusterIP != corev1.ClusterIPNone {
		errs = append(errs, errors.New("spec.ports: at least one port is required"))
	}
	for i, p := range s.Spec.Ports {
		if p.Port < 1 || p.Port > 65535 {
			errs = append(errs, fmt.Errorf("spec.ports[%d].port: %d is not in 1-65535", i, p.Port))
		}
		if len(s.Spec.Ports) > 1 && p.Name == "" {
			errs = append(errs, fmt.Errorf("spec.ports[%d].name: is required when there is more than one port", i))
		}
	}
	errs = append(errs, labelErrors("spec.selector", s.Spec.Selector)...)
	return errs
}
