package validate

import (
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kinds maps every kind the chart may render to a constructor of its Go
// type. The list is explicit: a kind missing here fails validation rather
// than passing unchecked.
var kinds = map[schema.GroupVersionKind]func() any{
	corev1.SchemeGroupVersion.WithKind("ConfigMap"):                            func() any { return new(corev1.ConfigMap) },
	corev1.SchemeGroupVersion.WithKind("Secret"):                               func() any { return new(corev1.Secret) },
	corev1.SchemeGroupVersion.WithKind("Service"):                              func() any { return new(corev1.Service) },
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"):                       func() any { return new(corev1.ServiceAccount) },
	corev1.SchemeGroupVersion.WithKind("Pod"):                                  func() any { return new(corev1.Pod) },
	corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"):                func() any { return new(corev1.PersistentVolumeClaim) },
	appsv1.SchemeGroupVersion.WithKind("DaemonSet"):                            func() any { return new(appsv1.DaemonSet) },
	appsv1.SchemeGroupVersion.WithKind("Deployment"):                           func() any { return new(appsv1.Deployment) },
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"):                          func() any { return new(appsv1.StatefulSet) },
	rbacv1.SchemeGroupVersion.WithKind("ClusterRole"):                          func() any { return new(rbacv1.ClusterRole) },
	rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"):                   func() any { return new(rbacv1.ClusterRoleBinding) },
	rbacv1.SchemeGroupVersion.WithKind("Role"):                                 func() any { return new(rbacv1.Role) },
	rbacv1.SchemeGroupVersion.WithKind("RoleBinding"):                          func() any { return new(rbacv1.RoleBinding) },
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"):                func() any { return new(policyv1.PodDisruptionBudget) },
	networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"):                  func() any { return new(networkingv1.NetworkPolicy) },
	monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.ServiceMonitorsKind): func() any { return new(monitoringv1.ServiceMonitor) },
	monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.PrometheusRuleKind):  func() any { return new(monitoringv1.PrometheusRule) },
}

func knownKinds() string {
	names := make([]string, 0, len(kinds))
	for gvk := range kinds {
		names = append(names, gvk.GroupVersion().String()+" "+gvk.Kind)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
