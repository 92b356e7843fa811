// Package validate checks rendered Kubernetes manifests offline and
// strictly, the way the API server would decode them: every document is
// decoded into its k8s.io/api (or prometheus-operator) Go type, and unknown
// fields, fields spelled with the wrong case, duplicate keys, wrong value
// types and unknown kinds are errors. A few API-server validations that
// decoding alone cannot see (names, labels, selectors, containers, ports)
// are checked on top, see checks.go.
//
// It exists so that `make test` can validate the Helm chart in deploy/helm
// without a cluster and without downloading JSON schemas.
package validate

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest document.
type Object struct {
	Doc        int    // 1-based index of the document in the stream
	Source     string // "# Source:" comment written by helm template, if any
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Value      any // pointer to the typed object, e.g. *appsv1.DaemonSet
}

// String names the object as kubectl does: Kind/name.
func (o Object) String() string { return o.Kind + "/" + o.Name }

// typeMeta is what is read before the kind is known.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

var (
	docSep    = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)
	sourceRef = regexp.MustCompile(`(?m)^# Source: (.+)$`)
)

// Decode splits a multi-document YAML stream and decodes every non-empty
// document strictly. It returns the objects decoded and every problem found,
// joined, each naming the document, its source template and its kind/name.
func Decode(stream []byte) ([]Object, error) {
	var (
		objs []Object
		errs []error
	)
	for i, doc := range docSep.Split(string(stream), -1) {
		if isBlank(doc) {
			continue
		}
		o, err := decodeDoc(i+1, []byte(doc))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := check(o); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where(o.Doc, o.Source, o.String()), err))
			continue
		}
		objs = append(objs, o)
	}
	if len(objs) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no Kubernetes objects in the input"))
	}
	return objs, errors.Join(errs...)
}

func decodeDoc(n int, doc []byte) (Object, error) {
	o := Object{Doc: n}
	if m := sourceRef.FindSubmatch(doc); m != nil {
		o.Source = string(m[1])
	}
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return o, fmt.Errorf("%s: yaml: %w", where(n, o.Source, ""), err)
	}
	var tm typeMeta
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return o, fmt.Errorf("%s: apiVersion/kind/metadata: %w", where(n, o.Source, ""), err)
	}
	o.APIVersion, o.Kind, o.Name, o.Namespace = tm.APIVersion, tm.Kind, tm.Metadata.Name, tm.Metadata.Namespace
	id := o.Kind + "/" + o.Name
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil || tm.APIVersion == "" || tm.Kind == "" {
		return o, fmt.Errorf("%s: apiVersion %q and kind %q must both be set (e.g. apps/v1, DaemonSet)", where(n, o.Source, id), tm.APIVersion, tm.Kind)
	}
	newObj, ok := kinds[gv.WithKind(tm.Kind)]
	if !ok {
		return o, fmt.Errorf("%s: %s %s is not a kind this validator knows (known: %s)", where(n, o.Source, id), tm.APIVersion, tm.Kind, knownKinds())
	}
	o.Value = newObj()
	strict, err := sigsjson.UnmarshalStrict(js, o.Value)
	if err != nil {
		return o, fmt.Errorf("%s: %w", where(n, o.Source, id), err)
	}
	if len(strict) > 0 {
		return o, fmt.Errorf("%s: %w", where(n, o.Source, id), errors.Join(strict...))
	}
	return o, nil
}

func where(n int, source, id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "document %d", n)
	if source != "" {
		fmt.Fprintf(&b, " (%s)", source)
	}
	if id != "" {
		b.WriteString(" " + id)
	}
	return b.String()
}

// isBlank reports whether a document holds only comments and whitespace.
func isBlank(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

// Find returns the object of the given kind and name, or nil.
func Find(objs []Object, kind, name string) *Object {
	for i := range objs {
		if objs[i].Kind == kind && objs[i].Name == name {
			return &objs[i]
		}
	}
	return nil
}

// List returns "Kind/name" for every object, in stream order.
func List(objs []Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.String()
	}
	return out
}
