package rules

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// falcoExample is the alert the compatibility spec (Falco rule language
// doc §10.2) derives from Falco 0.44's format_event for `cat /etc/shadow`
// on the host, copied verbatim.
const falcoExample = `{"hostname":"myhost","output":"12:34:56.123456789: Warning Sensitive file opened for reading by non-trusted program | file=/etc/shadow gparent=sshd ggparent=systemd gggparent=<NA> evt_type=openat user=root user_uid=0 user_loginuid=0 process=cat proc_exepath=/usr/bin/cat parent=bash command=cat /etc/shadow terminal=34816 container_id=host container_name=host","output_fields":{"container.id":"host","container.name":"host","evt.time":1763901296123456789,"evt.type":"openat","fd.name":"/etc/shadow","proc.aname[2]":"sshd","proc.aname[3]":"systemd","proc.aname[4]":null,"proc.cmdline":"cat /etc/shadow","proc.exepath":"/usr/bin/cat","proc.name":"cat","proc.pname":"bash","proc.tty":34816,"user.loginuid":0,"user.name":"root","user.uid":0},"priority":"Warning","rule":"Read sensitive file untrusted","source":"syscall","tags":["T1555","container","filesystem","host","maturity_stable","mitre_credential_access"],"time":"2025-11-23T12:34:56.123456789Z"}`

// TestFalcoExampleAlert checks our alert for the same event is the same
// JSON document (key order and HTML escaping aside).
func TestFalcoExampleAlert(t *testing.T) {
	e, _, err := Load([]Source{{Name: ruleset.DefaultName, Data: ruleset.Default}},
		Options{MinPriority: api.PriorityDebug, Fields: utcTable(), Hostname: "myhost"})
	if err != nil {
		t.Fatal(err)
	}
	as := evalAll(e, goldenCases()[0].fire)
	if len(as) != 1 {
		t.Fatalf("%d alerts", len(as))
	}
	got, err := json.Marshal(as[0])
	if err != nil {
		t.Fatal(err)
	}
	g, w := decodeExact(t, got), decodeExact(t, []byte(falcoExample))
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, falcoExample)
	}
}

// decodeExact decodes JSON keeping numbers as text, so large integers
// (nanosecond times) compare exactly.
func decodeExact(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// falcoCaptured is real Falco output (falcosecurity/testing golden file
// SingleRuleWithCatWriteJSON, time_format_iso_8601=true,
// FALCO_HOSTNAME=test-falco-hostname, a Falco without suggested container
// fields), copied verbatim from the compatibility spec §10.2.
const falcoCaptured = `{"hostname":"test-falco-hostname","output":"2016-08-04T16:17:57.881781397+0000: Warning An open was seen (command=cat /dev/null)","priority":"Warning","rule":"open_from_cat","source":"syscall","tags":["filesystem","process","testing"],"time":"2016-08-04T16:17:57.881781397Z", "output_fields": {"evt.time.iso8601":1470327477881781397,"proc.cmdline":"cat /dev/null"}}`

// TestFalcoCapturedAlert reproduces that alert with the same rule and
// options.
func TestFalcoCapturedAlert(t *testing.T) {
	y := `
- rule: open_from_cat
  desc: A process named cat does an open
  condition: evt.type=open and proc.name=cat
  output: "An open was seen (command=%proc.cmdline)"
  priority: WARNING
  tags: [filesystem, process, testing]
`
	e, _, err := Load([]Source{{Name: "cat_write.yaml", Data: []byte(y)}}, Options{MinPriority: api.PriorityDebug,
		Fields: utcTable(), Hostname: "test-falco-hostname", TimeISO8601: true, OmitContainerFields: true})
	if err != nil {
		t.Fatal(err)
	}
	p := hostCmd("cat", "/usr/bin/cat", "/dev/null")
	ev := openEvent(p, "/dev/null", "/dev/null", oRDONLY, 3)
	ev.Type = event.TypeOpen
	ev.TS = time.Date(2016, 8, 4, 16, 17, 57, 881781397, time.UTC).UnixNano()
	as := evalAll(e, ev)
	if len(as) != 1 {
		t.Fatalf("%d alerts", len(as))
	}
	got, err := json.Marshal(as[0])
	if err != nil {
		t.Fatal(err)
	}
	if g, w := decodeExact(t, got), decodeExact(t, []byte(falcoCaptured)); !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, falcoCaptured)
	}
}

// falcoDocsExample is the falco.org docs' JSON output example (an older
// "Terminal shell in container" rule, %container.info expanded by -pk, no
// suggested fields), copied verbatim from the project's fixtures.
const falcoDocsExample = `{"hostname":"falco-xczjd","output":"13:44:05.478445995: Critical A shell was spawned in a container with an attached terminal (user=root user_loginuid=-1 k8s.ns=default k8s.pod=kubecon container=ee97d9c4186f shell=sh parent=runc cmdline=sh -c clear; (bash || ash || sh) terminal=34816 container_id=ee97d9c4186f image=docker.io/library/alpine)","priority":"Critical","rule":"Terminal shell in container","source":"syscall","tags":["container","mitre_execution","shell"],"time":"2023-05-25T13:44:05.478445995Z", "output_fields": {"container.id":"ee97d9c4186f","container.image.repository":"docker.io/library/alpine","evt.time":1685022245478445995,"k8s.ns.name":"default","k8s.pod.name":"kubecon","proc.cmdline":"sh -c clear; (bash || ash || sh)","proc.name":"sh","proc.pname":"runc","proc.tty":34816,"user.loginuid":-1,"user.name":"root"}}`

func TestFalcoDocsExampleAlert(t *testing.T) {
	y := `
- rule: Terminal shell in container
  desc: A shell was used as the entrypoint/exec point into a container with an attached terminal.
  condition: evt.type = execve and container.id != host and proc.name = sh and proc.tty != 0
  output: >
    A shell was spawned in a container with an attached terminal (user=%user.name user_loginuid=%user.loginuid
    k8s.ns=%k8s.ns.name k8s.pod=%k8s.pod.name container=%container.id shell=%proc.name parent=%proc.pname
    cmdline=%proc.cmdline terminal=%proc.tty container_id=%container.id image=%container.image.repository)
  priority: CRITICAL
  tags: [container, shell, mitre_execution]
`
	e, _, err := Load([]Source{{Name: "docs.yaml", Data: []byte(y)}}, Options{MinPriority: api.PriorityDebug,
		Fields: utcTable(), Hostname: "falco-xczjd", OmitContainerFields: true})
	if err != nil {
		t.Fatal(err)
	}
	p := ctrCmd("sh", "/bin/sh", 34816, "-c", "clear; (bash || ash || sh)")
	p.Container = &event.Container{ID: "ee97d9c4186f", ImageRepository: "docker.io/library/alpine", Namespace: "default", PodName: "kubecon"}
	ev := execEvent(p)
	ev.TS = time.Date(2023, 5, 25, 13, 44, 5, 478445995, time.UTC).UnixNano()
	as := evalAll(e, ev)
	if len(as) != 1 {
		t.Fatalf("%d alerts", len(as))
	}
	got, err := json.Marshal(as[0])
	if err != nil {
		t.Fatal(err)
	}
	if g, w := decodeExact(t, got), decodeExact(t, []byte(falcoDocsExample)); !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, falcoDocsExample)
	}
}
