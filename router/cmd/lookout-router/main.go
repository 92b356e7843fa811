// Command lookout-router receives Falco-shaped alerts over HTTP and delivers
// them to the configured outputs. See docs/router-config.md; the deadletter
// subcommand (docs/router-delivery.md) manages alerts outputs gave up on.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/api/buildinfo"
	"github.com/lookout-sec/lookout/router/internal/app"
	"github.com/lookout-sec/lookout/router/internal/config"
)

func main() {
	if err := newCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "lookout-router:", err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	var (
		file      string
		logLevel  string
		checkOnly bool
		initQueue bool
	)
	cmd := &cobra.Command{
		Use:           "lookout-router --config FILE",
		Short:         "Receive Falco-shaped alerts and deliver them to outputs",
		Version:       buildinfo.Get().String(),
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return fmt.Errorf("--config FILE is required")
			}
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
			reg := registry.Builtin()
			cfg, err := config.Load(file, reg)
			if err != nil {
				return err
			}
			if checkOnly {
				fmt.Fprintln(cmd.OutOrStdout(), "config ok:", cfg)
				return nil
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return app.Run(ctx, cfg, app.Options{Logger: logger, Registry: reg, InitQueue: initQueue})
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "YAML config file (see docs/router-config.md)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().BoolVar(&checkOnly, "check", false, "validate the config, print it (secrets redacted) and exit")
	cmd.Flags().BoolVar(&initQueue, "init-queue", false, "start an empty queue where queue.db is missing or empty although queue.id says a queue existed (its alerts are lost)")
	cmd.SetVersionTemplate("lookout-router {{.Version}}\n")
	cmd.AddCommand(versionCommand("lookout-router"))
	cmd.AddCommand(deadletterCommand(), queueCommand(), configCommand(), silenceCommand(), findingsCommand(), learnCommand(), replayCommand())
	return cmd
}

// versionCommand prints the build identity (as --version does; --json for
// scripts).
func versionCommand(name string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := buildinfo.Get()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(in)
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), name, in)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
