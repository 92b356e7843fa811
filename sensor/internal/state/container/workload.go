package container

import "strings"

// Workload kinds Workload reports.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindDaemonSet   = "DaemonSet"
	KindJob         = "Job"
	KindCronJob     = "CronJob"
	KindPod         = "Pod"
)

// Workload derives the controller that owns a Kubernetes pod from the pod's
// name and its (sandbox) labels, without asking the API server. The
// controllers' own labels decide when present:
//
//   - pod-template-hash=H (ReplicaSet of a Deployment): the pod is
//     NAME-H-xxxxx, the workload NAME, kind Deployment;
//   - statefulset.kubernetes.io/pod-name, or controller-revision-hash with
//     a name ending in -ORDINAL: NAME-N, kind StatefulSet;
//   - controller-revision-hash with pod-template-generation (DaemonSet):
//     NAME-xxxxx, kind DaemonSet;
//   - job-name=J (or batch.kubernetes.io/job-name): kind Job named J, or
//     CronJob named C when J is C-<8 or more digits> (the CronJob's
//     scheduled-time suffix).
//
// Without those labels the pod name alone is read: NAME-<hash>-<5
// characters> is a Deployment, NAME-<digits> a StatefulSet; anything else
// is a bare pod (the workload is the pod itself, kind Pod). An empty pod
// name gives "", "".
func Workload(pod string, labels map[string]string) (name, kind string) {
	if pod == "" {
		return "", ""
	}
	if job := labels["batch.kubernetes.io/job-name"]; job != "" || labels["job-name"] != "" {
		if job == "" {
			job = labels["job-name"]
		}
		if i := strings.LastIndexByte(job, '-'); i > 0 && len(job)-i-1 >= 8 && allDigits(job[i+1:]) {
			return job[:i], KindCronJob
		}
		return job, KindJob
	}
	if h := labels["pod-template-hash"]; h != "" {
		if base, ok := strings.CutSuffix(trimRandom(pod), "-"+h); ok {
			return base, KindDeployment
		}
	}
	if labels["statefulset.kubernetes.io/pod-name"] != "" || labels["apps.kubernetes.io/pod-index"] != "" {
		if base, ok := trimOrdinal(pod); ok {
			return base, KindStatefulSet
		}
	}
	if labels["controller-revision-hash"] != "" {
		if labels["pod-template-generation"] != "" {
			if base := trimRandom(pod); base != pod {
				return base, KindDaemonSet
			}
		}
		if base, ok := trimOrdinal(pod); ok {
			return base, KindStatefulSet
		}
	}
	// Names only.
	if r := trimRandom(pod); r != pod {
		if i := strings.LastIndexByte(r, '-'); i > 0 && isHash(r[i+1:]) {
			return r[:i], KindDeployment
		}
	}
	if base, ok := trimOrdinal(pod); ok {
		return base, KindStatefulSet
	}
	return pod, KindPod
}

// trimRandom removes the 5-character random suffix Kubernetes appends to
// generated pod names ("-xk2lp"); it returns name unchanged when there is
// none.
func trimRandom(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || len(name)-i-1 != 5 || !isAlnumLower(name[i+1:]) {
		return name
	}
	return name[:i]
}

// trimOrdinal removes a StatefulSet ordinal ("-0", "-12").
func trimOrdinal(name string) (string, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 || !allDigits(name[i+1:]) {
		return name, false
	}
	return name[:i], true
}

// isHash reports a pod-template-hash: 5 to 10 lower-case letters and
// digits with at least one digit (so that a word such as "worker" is not
// taken for one).
func isHash(s string) bool {
	if len(s) < 5 || len(s) > 10 || !isAlnumLower(s) {
		return false
	}
	return strings.ContainsAny(s, "0123456789")
}

func isAlnumLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
