package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/app"
	"github.com/lookout-sec/lookout/sensor/internal/config"
)

// errTestFailed is returned after `rules test` printed a failing result.
var errTestFailed = errors.New("rules test failed")

func testCommand(stdout, stderr io.Writer) *cobra.Command {
	var (
		rulesPaths []string
		expect     []string
		minPrio    string
		matchAll   bool
		wait       time.Duration
		verbose    bool
		noDefault  bool
	)
	cmd := &cobra.Command{
		Use:   "test [--expect RULE]... [-r PATH]... -- COMMAND [ARG...]",
		Short: "Run COMMAND under the sensor and check that the expected rules fire (root)",
		Long: `Runs COMMAND under the live sensor (eBPF probe, state tables, rules) and
reports the alerts raised by COMMAND and the processes it started. With
--expect, every named rule must fire; without it, COMMAND must raise no alert.
Exit status 0 when the expectations hold, 1 otherwise. Needs root.

  lookout-sensor rules test --expect "Read sensitive file untrusted" -- cat /etc/shadow
  lookout-sensor rules test -r my_rules.yaml --expect "My rule" -- ./attack.sh
  lookout-sensor rules test -- ls /tmp          # must not alert`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := config.Default()
			cfg.Rules, cfg.DefaultRules = rulesPaths, !noDefault
			p, err := api.ParsePriority(minPrio)
			if err != nil {
				return fmt.Errorf("--min-priority: %w", err)
			}
			cfg.MinPriority = p
			if matchAll {
				cfg.RuleMatching = config.MatchAll
			}
			cfg.Outputs.Stdout.Enabled = true // not used: alerts are collected, not emitted
			if err := cfg.Validate(); err != nil {
				return err
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
			t := app.RuleTest{Argv: args, Expect: expect, Stdout: stderr, Stderr: stderr, Wait: wait}
			res, err := app.TestRules(cmd.Context(), cfg, t, log)
			if err != nil {
				return err
			}
			res.Report(stdout, t)
			if !res.OK(t) {
				return errTestFailed
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&rulesPaths, "rules", "r", nil, "rules file or directory loaded after the embedded upstream rules (repeatable)")
	f.BoolVar(&noDefault, "no-default-rules", false, "do not load the embedded upstream rules: only -r")
	f.StringArrayVar(&expect, "expect", nil, "rule name that must fire (repeatable); none: COMMAND must not alert")
	f.StringVar(&minPrio, "min-priority", "debug", "least severe rule priority to load ("+api.AllowedPriorities+")")
	f.BoolVar(&matchAll, "all", true, "evaluate every rule for each event (rule_matching: all), so one rule cannot hide another")
	f.DurationVar(&wait, "wait", 10*time.Second, "how long the sensor may lag behind the action")
	f.BoolVarP(&verbose, "verbose", "v", false, "log the sensor's start-up")
	return cmd
}
