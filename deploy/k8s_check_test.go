package deploy_test

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// secretVars must come from a Secret, never a ConfigMap or a literal value.
var secretVars = []string{"SAMAGATE_DATABASE_URL", "SAMAGATE_REDIS_URL", "SAMAGATE_ADMIN_API_KEY"}

// problems collects the findings of one check, each naming its object.
type problems []error

func (p *problems) add(where, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
}

// check runs what an API server's validation and a careful reviewer would:
// names and labels, the references between the objects (selectors, ports,
// ConfigMap and Secret names), the probes and the shutdown budget. The
// decoding in decodeK8s has already rejected unknown fields and wrong types.
func (m *manifests) check() error {
	var p problems
	m.checkMeta(&p)
	if len(m.deployments) != 1 {
		p.add("deploy/k8s", "want one Deployment, got %d", len(m.deployments))
		return errors.Join(p...)
	}
	d := m.deployments[0]
	where := "Deployment " + d.Name
	tmpl := d.Spec.Template
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		p.add(where, "replicas must be set and at least 2 (one pod is no cluster and no disruption budget fits it)")
	}
	if d.Spec.Selector == nil {
		p.add(where, "no selector")
	} else if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || sel.Empty() || !sel.Matches(labels.Set(tmpl.Labels)) {
		p.add(where, "selector %v does not select the pod template's labels %v", d.Spec.Selector, tmpl.Labels)
	}
	if len(tmpl.Spec.Containers) != 1 {
		p.add(where, "want one container, got %d", len(tmpl.Spec.Containers))
		return errors.Join(p...)
	}
	c := tmpl.Spec.Containers[0]
	where += ", container " + c.Name
	if c.Name == "" || c.Image == "" {
		p.add(where, "a container needs a name and an image")
	}
	ports := m.checkPorts(&p, where, c)
	env := m.checkEnv(&p, where, c)

	// Probes: readiness follows /ready (starting, draining, store or Redis
	// down), liveness only /health, so an outage of PostgreSQL or Redis
	// takes pods out of the Service without restarting all of them.
	probe := func(name string, pr *corev1.Probe, wantPath string) {
		if pr == nil || pr.HTTPGet == nil {
			p.add(where, "%s probe must be an httpGet", name)
			return
		}
		if pr.HTTPGet.Path != wantPath {
			p.add(where, "%s probe path %q, want %q", name, pr.HTTPGet.Path, wantPath)
		}
		if _, ok := resolvePort(ports, pr.HTTPGet.Port); !ok {
			p.add(where, "%s probe port %s is not a port of the container", name, pr.HTTPGet.Port.String())
		}
	}
	probe("readiness", c.ReadinessProbe, "/ready")
	probe("liveness", c.LivenessProbe, "/health")
	if c.StartupProbe != nil {
		probe("startup", c.StartupProbe, "/health")
	}

	// The listeners the variables open are the ports the pod declares.
	if port, ok := ports["http"]; !ok || addrPort(env["SAMAGATE_ADDR"]) != port {
		p.add(where, "SAMAGATE_ADDR %q does not listen on the container port named http (%d)", env["SAMAGATE_ADDR"], port)
	}
	metricsPort, ok := ports["metrics"]
	if !ok || addrPort(env["SAMAGATE_METRICS_ADDR"]) != metricsPort {
		p.add(where, "SAMAGATE_METRICS_ADDR %q does not listen on the container port named metrics (%d)", env["SAMAGATE_METRICS_ADDR"], metricsPort)
	}
	ann := tmpl.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != strconv.Itoa(int(metricsPort)) {
		p.add(where, "prometheus.io annotations %v do not point at /metrics on port %d", ann, metricsPort)
	}

	// Shutdown: preStop, then the drain window, then the shutdown bound,
	// all inside the grace period, or the kubelet kills the drain midway.
	var budget time.Duration
	switch {
	case c.Lifecycle == nil || c.Lifecycle.PreStop == nil:
		p.add(where, "no preStop hook (load balancers need a moment to stop sending new connections)")
	case c.Lifecycle.PreStop.Sleep != nil:
		budget += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	for _, v := range []string{"SAMAGATE_DRAIN_WINDOW", "SAMAGATE_SHUTDOWN_TIMEOUT"} {
		dur, err := time.ParseDuration(env[v])
		if err != nil || dur <= 0 {
			p.add(where, "%s must be a positive duration, got %q", v, env[v])
		}
		budget += dur
	}
	grace := tmpl.Spec.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second <= budget {
		p.add(where, "terminationGracePeriodSeconds must exceed preStop + drain window + shutdown timeout (%v)", budget)
	}
	if req := c.Resources.Requests; req.Cpu().IsZero() || req.Memory().IsZero() {
		p.add(where, "cpu and memory requests must be set")
	} else if lim := c.Resources.Limits.Memory(); !lim.IsZero() && lim.Cmp(*req.Memory()) < 0 {
		p.add(where, "memory limit %v below its request %v", lim, req.Memory())
	}

	m.checkServices(&p, tmpl.Labels, ports)
	m.checkPDBs(&p, tmpl.Labels, d.Spec.Replicas)
	return errors.Join(p...)
}

// checkServices: each Service selects the Deployment's pods (labels pods)
// and targets ports the container declares.
func (m *manifests) checkServices(p *problems, pods map[string]string, ports map[string]int32) {
	for _, s := range m.services {
		where := "Service " + s.Name
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pods)) {
			p.add(where, "selector %v does not select the Deployment's pods %v", s.Spec.Selector, pods)
		}
		if len(s.Spec.Ports) == 0 {
			p.add(where, "no ports")
		}
		for _, sp := range s.Spec.Ports {
			target := sp.TargetPort
			if target == (intstr.IntOrString{}) {
				target = intstr.FromInt32(sp.Port)
			}
			if _, ok := resolvePort(ports, target); !ok {
				p.add(where, "port %q targets %s, not a port of the container", sp.Name, target.String())
			}
			if validation.IsValidPortNum(int(sp.Port)) != nil {
				p.add(where, "port %d out of range", sp.Port)
			}
		}
	}
	if len(m.services) == 0 {
		p.add("deploy/k8s", "no Service")
	}
}

// checkPDBs: one budget, selecting the pods, that lets a drain evict a pod
// and never all of them (want is the Deployment's replicas).
func (m *manifests) checkPDBs(p *problems, pods map[string]string, want *int32) {
	if len(m.pdbs) != 1 {
		p.add("deploy/k8s", "want one PodDisruptionBudget, got %d", len(m.pdbs))
	}
	for _, b := range m.pdbs {
		where := "PodDisruptionBudget " + b.Name
		if sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector); b.Spec.Selector == nil || err != nil || sel.Empty() || !sel.Matches(labels.Set(pods)) {
			p.add(where, "selector does not select the Deployment's pods %v", pods)
		}
		if (b.Spec.MinAvailable == nil) == (b.Spec.MaxUnavailable == nil) {
			p.add(where, "set exactly one of minAvailable and maxUnavailable")
			continue
		}
		if want == nil {
			continue
		}
		replicas := int(*want)
		var allowed int
		if b.Spec.MaxUnavailable != nil {
			allowed, _ = intstr.GetScaledValueFromIntOrPercent(b.Spec.MaxUnavailable, replicas, false)
		} else {
			minimum, _ := intstr.GetScaledValueFromIntOrPercent(b.Spec.MinAvailable, replicas, true)
			allowed = replicas - minimum
		}
		if allowed < 1 || allowed >= replicas {
			p.add(where, "allows %d of %d pods down at once: a drain would block forever or take every pod", allowed, replicas)
		}
	}
}

// checkMeta checks names and labels as the API server would, and that no
// object pins a namespace (the operator chooses it).
func (m *manifests) checkMeta(p *problems) {
	var objects []metav1.ObjectMeta
	for _, d := range m.deployments {
		objects = append(objects, d.ObjectMeta)
		checkLabels(p, "Deployment "+d.Name+", pod template", d.Spec.Template.ObjectMeta)
	}
	for _, s := range m.services {
		objects = append(objects, s.ObjectMeta)
		for _, e := range validation.IsDNS1035Label(s.Name) {
			p.add("Service "+s.Name, "name: %s", e)
		}
	}
	for _, b := range m.pdbs {
		objects = append(objects, b.ObjectMeta)
	}
	for _, c := range m.configMaps {
		objects = append(objects, c.ObjectMeta)
	}
	for _, s := range m.secrets {
		objects = append(objects, s.ObjectMeta)
	}
	for _, o := range objects {
		where := "object " + o.Name
		for _, e := range validation.IsDNS1123Subdomain(o.Name) {
			p.add(where, "name %q: %s", o.Name, e)
		}
		if o.Namespace != "" {
			p.add(where, "namespace %q is set: leave it to kubectl -n", o.Namespace)
		}
		checkLabels(p, where, o)
	}
}

func checkLabels(p *problems, where string, o metav1.ObjectMeta) {
	for k, v := range o.Labels {
		for _, e := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
			p.add(where, "label %s=%s: %s", k, v, e)
		}
	}
	for k := range o.Annotations {
		for _, e := range validation.IsQualifiedName(k) {
			p.add(where, "annotation %s: %s", k, e)
		}
	}
}

// checkPorts checks the container's ports and returns them by name.
func (m *manifests) checkPorts(p *problems, where string, c corev1.Container) map[string]int32 {
	ports := map[string]int32{}
	seen := map[int32]bool{}
	for _, cp := range c.Ports {
		for _, e := range validation.IsValidPortName(cp.Name) {
			p.add(where, "port name %q: %s", cp.Name, e)
		}
		for _, e := range validation.IsValidPortNum(int(cp.ContainerPort)) {
			p.add(where, "port %d: %s", cp.ContainerPort, e)
		}
		if _, dup := ports[cp.Name]; dup || seen[cp.ContainerPort] {
			p.add(where, "port %q (%d) declared twice", cp.Name, cp.ContainerPort)
		}
		if cp.Protocol != "" && cp.Protocol != corev1.ProtocolTCP {
			p.add(where, "port %q: samagate speaks TCP, not %s", cp.Name, cp.Protocol)
		}
		ports[cp.Name] = cp.ContainerPort
		seen[cp.ContainerPort] = true
	}
	return ports
}

// checkEnv checks where the container's variables come from and returns
// the ones with a value in the manifests, by name.
func (m *manifests) checkEnv(p *problems, where string, c corev1.Container) map[string]string {
	env := map[string]string{}
	// Later sources win, as in Kubernetes; plain remembers every variable a
	// ConfigMap or a literal sets, shadowed or not.
	fromSecret, plain := map[string]bool{}, map[string]bool{}
	for _, src := range c.EnvFrom {
		switch {
		case src.ConfigMapRef != nil:
			cm, ok := m.configMaps[src.ConfigMapRef.Name]
			if !ok {
				p.add(where, "envFrom names ConfigMap %q, which deploy/k8s does not define", src.ConfigMapRef.Name)
				continue
			}
			for k, v := range cm.Data {
				env[src.Prefix+k], fromSecret[src.Prefix+k], plain[src.Prefix+k] = v, false, true
			}
		case src.SecretRef != nil:
			s, ok := m.secrets[src.SecretRef.Name]
			if !ok {
				p.add(where, "envFrom names Secret %q, which neither deploy/k8s nor %s defines", src.SecretRef.Name, secretExample)
				continue
			}
			for k, v := range s.StringData {
				env[src.Prefix+k], fromSecret[src.Prefix+k] = v, true
			}
			for k, v := range s.Data {
				env[src.Prefix+k], fromSecret[src.Prefix+k] = string(v), true
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name], fromSecret[e.Name], plain[e.Name] = e.Value, false, true
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			if s, ok := m.secrets[ref.Name]; !ok || (s.StringData[ref.Key] == "" && s.Data[ref.Key] == nil) {
				p.add(where, "%s: Secret %q has no key %q", e.Name, ref.Name, ref.Key)
			}
			env[e.Name], fromSecret[e.Name] = "(secret)", true
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			var v string
			if cm, ok := m.configMaps[ref.Name]; !ok {
				p.add(where, "%s: no ConfigMap %q", e.Name, ref.Name)
			} else if v, ok = cm.Data[ref.Key]; !ok {
				p.add(where, "%s: ConfigMap %q has no key %q", e.Name, ref.Name, ref.Key)
			}
			env[e.Name], fromSecret[e.Name], plain[e.Name] = v, false, true
		}
	}
	for _, v := range secretVars {
		if !fromSecret[v] || plain[v] {
			p.add(where, "%s must come from a Secret, and only from one", v)
		}
	}
	// Every pod reads the same ConfigMap and Secret: a node id there would
	// give every pod the same id. The default is unique per process.
	if _, ok := env["SAMAGATE_NODE_ID"]; ok {
		p.add(where, "SAMAGATE_NODE_ID is set for every pod alike; leave it to the default (host name + random suffix)")
	}
	return env
}

// resolvePort finds a named or numbered port among the container's.
func resolvePort(ports map[string]int32, port intstr.IntOrString) (int32, bool) {
	if port.Type == intstr.String {
		n, ok := ports[port.StrVal]
		return n, ok
	}
	for _, n := range ports {
		if n == port.IntVal {
			return n, true
		}
	}
	return 0, false
}

// addrPort is the port of a listen address such as ":9001", or -1.
func addrPort(addr string) int32 {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return -1
	}
	n, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

// manifestVars lists every SAMAGATE_* variable and --flag argument the
// manifests set, with where, for the check against `samagate --help`.
// Keys of a ConfigMap or Secret must all be SAMAGATE_ variables: envFrom
// passes every key, and a key with a misspelt prefix would be ignored.
func (m *manifests) manifestVars() (vars map[string]string, bad []error) {
	vars = map[string]string{}
	for name, cm := range m.configMaps {
		for k := range cm.Data {
			vars[k] = "ConfigMap " + name
		}
	}
	for name, s := range m.secrets {
		for k := range s.StringData {
			vars[k] = "Secret " + name
		}
		for k := range s.Data {
			vars[k] = "Secret " + name
		}
	}
	for k, src := range vars {
		if !strings.HasPrefix(k, "SAMAGATE_") {
			bad = append(bad, fmt.Errorf("%s: key %s is not a SAMAGATE_ variable", src, k))
			delete(vars, k)
		}
	}
	for _, d := range m.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			where := "Deployment " + d.Name + ", container " + c.Name
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, "SAMAGATE_") {
					vars[e.Name] = where
				}
			}
			for _, a := range append(append([]string{}, c.Command...), c.Args...) {
				if name, ok := strings.CutPrefix(a, "--"); ok {
					name, _, _ = strings.Cut(name, "=")
					vars["SAMAGATE_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = where + ", argument " + a
				}
			}
		}
	}
	return vars, bad
}

// checkFlags reports each variable of the manifests that is no flag of
// samagate (known holds the variables of `samagate --help`).
func (m *manifests) checkFlags(known map[string]bool) error {
	vars, errs := m.manifestVars()
	for v, where := range vars {
		if !known[v] {
			errs = append(errs, fmt.Errorf("%s sets %s, which is not in samagate --help", where, v))
		}
	}
	return errors.Join(errs...)
}
