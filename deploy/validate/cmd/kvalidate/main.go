// Command kvalidate validates Kubernetes manifests offline and strictly
// (see package validate): it reads the files named on the command line, or
// standard input when there are none, prints one "Kind/name" line per valid
// object and exits 1 when any document is invalid.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/lookout-sec/lookout/deploy/validate"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kvalidate:", err)
		os.Exit(1)
	}
}

func run(files []string, stdin io.Reader, stdout io.Writer) error {
	if len(files) == 0 {
		files = []string{"-"}
	}
	failed := false
	for _, f := range files {
		var (
			data []byte
			err  error
		)
		if f == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		objs, err := validate.Decode(data)
		for _, o := range objs {
			fmt.Fprintf(stdout, "%s: ok %s\n", f, o)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", f, err)
			failed = true
		}
	}
	if failed {
		return fmt.Errorf("invalid manifests")
	}
	return nil
}
