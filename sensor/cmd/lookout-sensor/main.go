// Command lookout-sensor is Lookout's runtime security sensor: an eBPF probe
// with a Falco-compatible rule engine that sends Falco-shaped alerts to a
// Lookout router, stdout or a file. Run it as root:
//
//	lookout-sensor --router http://127.0.0.1:2801
//	lookout-sensor --config /etc/lookout/sensor.yaml
//	lookout-sensor rules validate|list FILE...
//	lookout-sensor rules test --expect "Read sensitive file untrusted" -- cat /etc/shadow
//
// See docs/sensor.md and docs/sensor-config.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lookout-sec/lookout/router/api/buildinfo"
	"github.com/lookout-sec/lookout/sensor/internal/app"
	"github.com/lookout-sec/lookout/sensor/internal/config"
	"github.com/lookout-sec/lookout/sensor/internal/rulescmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot(os.Stdout, os.Stderr).ExecuteContext(ctx)
	interrupted := ctx.Err() != nil
	stop()
	if err != nil && interrupted && errors.Is(err, context.Canceled) {
		err = nil // Ctrl-C during start-up is a clean stop
	}
	if err != nil {
		if !errors.Is(err, rulescmd.ErrInvalid) && !errors.Is(err, errTestFailed) {
			fmt.Fprintln(os.Stderr, "lookout-sensor:", err)
		}
		os.Exit(1)
	}
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "lookout-sensor",
		Short:         "Lookout runtime security sensor (eBPF + Falco rules)",
		Version:       buildinfo.Get().String(),
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
			return app.Run(cmd.Context(), cfg, log)
		},
	}
	config.AddFlags(root.Flags())
	rc := rulescmd.NewCommand(stdout, stderr)
	rc.AddCommand(testCommand(stdout, stderr))
	root.AddCommand(rc)
	root.SetVersionTemplate("lookout-sensor {{.Version}}\n")
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "lookout-sensor", buildinfo.Get())
			return err
		},
	})
	return root
}
