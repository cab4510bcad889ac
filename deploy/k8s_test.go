package deploy_test

import (
	"errors"
	"strings"
	"testing"
)

// TestKubernetesManifests decodes deploy/k8s into the Kubernetes API's Go
// types (k8s.io/api) with the API machinery's strict decoder, then checks
// what decoding cannot: names and labels, the references between objects
// (the selectors of the Deployment, Service and PodDisruptionBudget select
// the pods; Service target ports, probe ports and the SAMAGATE_*_ADDR
// listeners are ports the container declares; envFrom names a ConfigMap and
// Secret that exist; credentials come from the Secret), the probes (/ready
// and /health) and the shutdown budget (terminationGracePeriodSeconds above
// preStop + drain window + shutdown timeout).
//
// Why typed decoding and not a JSON-schema validator such as kubeconform:
// tests run without network (kubeconform downloads its schemas), so its
// schemas would have to be copied into the repository and kept current by
// hand; the strict decoder and the types are the ones an API server uses
// to decode with fieldValidation=Strict, come through the module proxy at a
// pinned release, and reject an unknown or misspelt field, a duplicate
// field, a value of the wrong type and an unknown kind exactly as a server
// would. Neither a schema nor decoding can see a Service that selects no
// pod or a probe on a port nobody listens on; the checks after decoding do.
// What stays unchecked is the API server's own field validation beyond
// these checks (k8s.io/kubernetes is no importable module).
func TestKubernetesManifests(t *testing.T) {
	files, err := readK8s()
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeK8s(files)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.check(); err != nil {
		t.Fatal(err)
	}
}

// TestKubernetesFlags: every SAMAGATE_* variable (and --flag argument) the
// manifests set is a flag in `samagate --help`.
func TestKubernetesFlags(t *testing.T) {
	files, err := readK8s()
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeK8s(files)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.checkFlags(flags(t)); err != nil {
		t.Fatal(err)
	}
}

// TestKubernetesCheckCatches breaks the real manifests one way at a time
// and wants the test above to fail with the named error, so that test can
// be trusted when it passes.
func TestKubernetesCheckCatches(t *testing.T) {
	known := flags(t)
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"misspelt field", "deployment.yaml", "readinessProbe:", "readinesProbe:", `unknown field "spec.template.spec.containers[0].readinesProbe"`},
		{"misspelt nested field", "service.yaml", "targetPort: http", "tragetPort: http", `unknown field "spec.ports[0].tragetPort"`},
		{"duplicate field", "pdb.yaml", "maxUnavailable: 1", "maxUnavailable: 1\n  maxUnavailable: 2", `key "maxUnavailable" already set in map`},
		{"number for a string", "configmap.yaml", `SAMAGATE_PG_MAX_CONNS: "20"`, `SAMAGATE_PG_MAX_CONNS: 20`, `cannot unmarshal number into Go struct field ConfigMap.data of type string`},
		{"string for a number", "deployment.yaml", "containerPort: 9001", `containerPort: "9001"`, `cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32`},
		{"word for a number", "deployment.yaml", "replicas: 3", "replicas: three", `cannot unmarshal string`},
		{"bad quantity", "deployment.yaml", "memory: 1Gi", "memory: 1GB", `quantities must match`},
		{"unknown kind", "pdb.yaml", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgets", `no kind "PodDisruptionBudgets" is registered`},
		{"wrong apiVersion", "deployment.yaml", "apiVersion: apps/v1", "apiVersion: extensions/v1beta1", `no kind "Deployment" is registered for version "extensions/v1beta1"`},
		{"file left out of kustomization", "kustomization.yaml", "  - pdb.yaml\n", "", `kustomization.yaml lists`},
		{"bad label", "service.yaml", "app.kubernetes.io/name: samagate\n    app.kubernetes.io/component: gateway\nspec:", "app.kubernetes.io/name: samagate!\n    app.kubernetes.io/component: gateway\nspec:", `label app.kubernetes.io/name=samagate!`},
		{"namespace pinned", "pdb.yaml", "  name: samagate\n", "  name: samagate\n  namespace: prod\n", `namespace "prod" is set`},
		{"service selects no pod", "service.yaml", "  selector:\n    app.kubernetes.io/name: samagate\n", "  selector:\n    app.kubernetes.io/name: samagat\n", `Service samagate: selector`},
		{"service target port", "service.yaml", "targetPort: http", "targetPort: web", `targets web, not a port of the container`},
		{"service target number", "service.yaml", "targetPort: http", "targetPort: 9002", `targets 9002, not a port of the container`},
		{"pdb selects no pod", "pdb.yaml", "\n      app.kubernetes.io/component: gateway\n", "\n      app.kubernetes.io/component: db\n", `PodDisruptionBudget samagate: selector does not select`},
		{"pdb blocks drains", "pdb.yaml", "maxUnavailable: 1", "minAvailable: 3", `allows 0 of 3 pods down`},
		{"deployment selects other pods", "deployment.yaml", "  selector:\n    matchLabels:\n      app.kubernetes.io/name: samagate\n", "  selector:\n    matchLabels:\n      app.kubernetes.io/name: other\n", `does not select the pod template's labels`},
		{"probe port", "deployment.yaml", "path: /ready\n              port: http", "path: /ready\n              port: 8080", `readiness probe port 8080 is not a port of the container`},
		{"liveness on /ready", "deployment.yaml", "path: /health\n              port: http\n            periodSeconds: 10", "path: /ready\n              port: http\n            periodSeconds: 10", `liveness probe path "/ready", want "/health"`},
		{"port name too long", "deployment.yaml", "- name: metrics", "- name: prometheus-metrics", `port name "prometheus-metrics"`},
		{"listener off the port", "configmap.yaml", `SAMAGATE_ADDR: ":9001"`, `SAMAGATE_ADDR: ":8080"`, `SAMAGATE_ADDR ":8080" does not listen on the container port named http`},
		{"scrape port", "deployment.yaml", `prometheus.io/port: "9090"`, `prometheus.io/port: "9001"`, `prometheus.io annotations`},
		{"grace period too short", "deployment.yaml", "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: 40", `terminationGracePeriodSeconds must exceed preStop + drain window + shutdown timeout (45s)`},
		{"no drain window", "configmap.yaml", `SAMAGATE_DRAIN_WINDOW: "30s"`, `SAMAGATE_DRAIN_WINDOW: "30"`, `SAMAGATE_DRAIN_WINDOW must be a positive duration`},
		{"missing ConfigMap", "deployment.yaml", "configMapRef:\n                name: samagate", "configMapRef:\n                name: samagate-config", `envFrom names ConfigMap "samagate-config"`},
		{"credential in ConfigMap", "configmap.yaml", "\ndata:\n", "\ndata:\n  SAMAGATE_ADMIN_API_KEY: x\n", `SAMAGATE_ADMIN_API_KEY must come from a Secret`},
		{"shared node id", "configmap.yaml", "\ndata:\n", "\ndata:\n  SAMAGATE_NODE_ID: node1\n", `SAMAGATE_NODE_ID is set for every pod alike`},
		{"unknown variable", "configmap.yaml", "SAMAGATE_TRUST_PROXY:", "SAMAGATE_TRUST_PROXIES:", `ConfigMap samagate sets SAMAGATE_TRUST_PROXIES, which is not in samagate --help`},
		{"misspelt prefix", "secret.yaml.example", "SAMAGATE_REDIS_URL:", "SAMAGTE_REDIS_URL:", `Secret samagate: key SAMAGTE_REDIS_URL is not a SAMAGATE_ variable`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := readK8s()
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(files[tc.file]), tc.old); n != 1 {
				t.Fatalf("%s holds %q %d times, want once: update the case", tc.file, tc.old, n)
			}
			files[tc.file] = []byte(strings.Replace(string(files[tc.file]), tc.old, tc.new, 1))
			m, err := decodeK8s(files)
			if err == nil {
				err = errors.Join(m.check(), m.checkFlags(known))
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			t.Logf("caught: %v", err)
		})
	}
}
