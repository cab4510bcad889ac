package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// k8sDir holds the Kubernetes manifests; secretExample is the Secret the
// operator fills in, left out of the kustomization but checked like the rest.
const (
	k8sDir        = "k8s"
	secretExample = "secret.yaml.example"
)

// manifests is deploy/k8s decoded into the Kubernetes API's own Go types.
type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	pdbs        []*policyv1.PodDisruptionBudget
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
}

// kustomization is the part of kustomize's file that deploy/k8s uses; it is
// decoded strictly too, so a field outside it is an error to look at.
type kustomization struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Resources  []string         `json:"resources"`
	Images     []kustomizeImage `json:"images"`
}

type kustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName"`
	NewTag  string `json:"newTag"`
}

// readK8s reads the files of deploy/k8s by name.
func readK8s() (map[string][]byte, error) {
	entries, err := os.ReadDir(k8sDir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			return nil, fmt.Errorf("%s: unexpected directory %s", k8sDir, e.Name())
		}
		b, err := os.ReadFile(filepath.Join(k8sDir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = b
	}
	return files, nil
}

// decodeK8s decodes the manifests strictly, the way an API server with
// fieldValidation=Strict does: the scheme picks the Go type from apiVersion
// and kind (an unknown kind is an error), and an unknown or duplicate field
// or a value of the wrong type is an error. kustomization.yaml must list
// every manifest, so `kubectl apply -k` applies what this test checked.
func decodeK8s(files map[string][]byte) (*manifests, error) {
	var errs []error
	var k kustomization
	if err := yaml.UnmarshalStrict(files["kustomization.yaml"], &k); err != nil {
		errs = append(errs, fmt.Errorf("kustomization.yaml: %w", err))
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		errs = append(errs, fmt.Errorf("kustomization.yaml: apiVersion/kind %q/%q", k.APIVersion, k.Kind))
	}
	var yamls []string
	for name := range files {
		if strings.HasSuffix(name, ".yaml") && name != "kustomization.yaml" {
			yamls = append(yamls, name)
		}
	}
	slices.Sort(yamls)
	if listed := slices.Sorted(slices.Values(k.Resources)); !slices.Equal(listed, yamls) {
		errs = append(errs, fmt.Errorf("kustomization.yaml lists %v, the directory has %v", listed, yamls))
	}
	if !slices.ContainsFunc(k.Images, func(i kustomizeImage) bool { return i.Name == "samagate" && i.NewName != "" }) {
		errs = append(errs, errors.New("kustomization.yaml: no images entry for samagate"))
	}

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	codec := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true})
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	for _, name := range append(yamls, secretExample) {
		raw, ok := files[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s is missing", name))
			continue
		}
		docs, err := splitYAML(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for i, doc := range docs {
			obj, _, err := codec.Decode(doc, nil, nil)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s, document %d: %w", name, i+1, err))
				continue
			}
			switch o := obj.(type) {
			case *appsv1.Deployment:
				m.deployments = append(m.deployments, o)
			case *corev1.Service:
				m.services = append(m.services, o)
			case *policyv1.PodDisruptionBudget:
				m.pdbs = append(m.pdbs, o)
			case *corev1.ConfigMap:
				m.configMaps[o.Name] = o
			case *corev1.Secret:
				m.secrets[o.Name] = o
			default:
				errs = append(errs, fmt.Errorf("%s, document %d: %T is not checked by this test: add its checks", name, i+1, obj))
			}
		}
	}
	return m, errors.Join(errs...)
}

// splitYAML returns the non-empty documents of a YAML stream.
func splitYAML(raw []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if onlyComments(doc) {
			continue
		}
		docs = append(docs, doc)
	}
}

func onlyComments(doc []byte) bool {
	for line := range strings.Lines(string(doc)) {
		if l := strings.TrimSpace(line); l != "" && l != "---" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}
