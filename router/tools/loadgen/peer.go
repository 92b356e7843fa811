package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// startPeer starts Falcosidekick (the -peer binary) with its webhook
// output pointed at the sink, configured through its environment
// variables, listening on a free loopback port. The load then posts the
// same alerts to it as to the router (POST /, Falco's http_output).
func startPeer(ctx context.Context, o options, outs []outputSpec) (*routerProc, error) {
	dir, err := os.MkdirTemp("", "lookout-bench-peer")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	cmd := exec.CommandContext(ctx, o.peer)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"LISTENADDRESS=127.0.0.1", "LISTENPORT="+strconv.Itoa(addr.Port), "DEBUG=false",
		"WEBHOOK_ADDRESS="+outs[0].url, "WEBHOOK_MINIMUMPRIORITY=debug",
	)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start peer %s: %w", o.peer, err)
	}
	r := &routerProc{cmd: cmd, addr: addr.String(), dir: dir}
	for range 200 {
		if resp, err := http.Get("http://" + r.addr + "/healthz"); err == nil {
			resp.Body.Close()
			return r, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	r.stop(false)
	return nil, fmt.Errorf("peer %s did not answer on %s/healthz", o.peer, r.addr)
}
