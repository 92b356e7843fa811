// Command ctrhelper runs inside the podman end-to-end test's containers,
// built statically (CGO_ENABLED=0) into the image. What it does depends
// on the name it is started under:
//
//   - kubectl: nothing (a Kubernetes client tool being launched is the
//     action);
//   - anything else with the argument "ec2": a non-blocking connect to the
//     EC2 instance metadata address 169.254.169.254:80 that goes nowhere
//     (connect returns EINPROGRESS, as for a real client), given up after
//     a second.
package main

import (
	"net"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if filepath.Base(os.Args[0]) == "kubectl" {
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "ec2" {
		if c, err := net.DialTimeout("tcp4", "169.254.169.254:80", time.Second); err == nil {
			c.Close()
		}
		return
	}
	os.Exit(2)
}
