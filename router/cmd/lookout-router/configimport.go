package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/sidekick"
)

// configCommand is `lookout-router config`, holding `import`.
func configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with router config files",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(configImportCommand())
	return cmd
}

// configImportCommand converts a Falcosidekick config into a Lookout one.
func configImportCommand() *cobra.Command {
	var (
		fromEnv bool
		out     string
	)
	cmd := &cobra.Command{
		Use:   "import [falcosidekick.yaml] [--env] [-o lookout.yaml]",
		Short: "Convert a Falcosidekick config (file or environment variables) into a router config",
		Long: "Converts Falcosidekick's slack, elasticsearch, pagerduty and webhook outputs (Slack and\n" +
			"Elasticsearch in compat: falcosidekick mode) and reports every other key that is set as a\n" +
			"warning naming it. The result is checked as --check would before it is written.\n" +
			"See docs/migrating-from-falcosidekick.md.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var (
				res    *sidekick.Result
				err    error
				source string
			)
			switch {
			case fromEnv && len(args) == 0:
				res, err = sidekick.FromEnv(os.Environ())
				source = "environment variables"
			case !fromEnv && len(args) == 1:
				var b []byte
				if b, err = os.ReadFile(args[0]); err != nil {
					return fmt.Errorf("config import: %w", err)
				}
				res, err = sidekick.FromYAML(b)
				source = filepath.Base(args[0])
			default:
				return fmt.Errorf("config import: give a Falcosidekick config file or --env, not both or neither")
			}
			if err != nil {
				return fmt.Errorf("config import: %w", err)
			}
			y, err := res.YAML(source)
			if err != nil {
				return fmt.Errorf("config import: %w", err)
			}
			if err := checkImported(y); err != nil {
				return fmt.Errorf("config import: the converted config does not load (please report this): %w", err)
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(y)
				return err
			}
			if err := os.WriteFile(out, y, 0o600); err != nil {
				return fmt.Errorf("config import: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d outputs, %d warnings)\n", out, len(res.Config.Outputs), len(res.Warnings))
			return nil
		},
	}
	cmd.Flags().BoolVar(&fromEnv, "env", false, "read Falcosidekick's environment variables (SLACK_WEBHOOKURL, …) instead of a file")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the router config here (mode 0600: it holds secrets) instead of stdout")
	return cmd
}

// checkImported loads y exactly as `lookout-router --check` would.
func checkImported(y []byte) error {
	f, err := os.CreateTemp("", "lookout-import-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(y); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	_, err = config.Load(f.Name(), registry.Builtin())
	return err
}
