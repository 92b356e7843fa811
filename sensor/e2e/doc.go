// Package e2e holds the sensor's end-to-end tests: they build
// bin/lookout-router and bin/lookout-sensor, start the router with a
// webhook output pointed at a sink on 127.0.0.1 and the sensor with the
// default rules posting to the router, perform real actions on the real
// kernel (cat /etc/shadow, ln -s /etc/shadow, ptrace, memfd execution, ...)
// and check the alerts that arrive at the sink. They need root and skip
// with a clear message otherwise. Side effects stay inside temporary
// directories.
package e2e
