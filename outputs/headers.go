package outputs

import (
	"fmt"
	"strings"
)

// CheckHeaders rejects header names or values that HTTP cannot carry (a
// newline, often left by a Kubernetes Secret made with --from-file), naming
// the header but never printing its value.
func CheckHeaders(key string, h map[string]string) error {
	for k, v := range h {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return fmt.Errorf("%s: %q is not a header name", key, k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("%s.%s: the value contains a newline or NUL (a Secret created with --from-file keeps the file's last newline: create it with --from-literal or printf)", key, k)
		}
	}
	return nil
}
