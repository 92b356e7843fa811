// Package rulescmd is the `rules` command of lookout-sensor: `rules
// validate` checks rules files as the engine would load them and `rules
// list` describes their rules. The sensor's main mounts NewCommand.
package rulescmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/rules"
	"github.com/lookout-sec/lookout/sensor/internal/rules/compile"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// ErrInvalid is returned (after the errors were printed) when the rules
// do not load.
var ErrInvalid = errors.New("rules are invalid")

type common struct {
	withDefault bool
	withAudit   bool
	minPriority string
	maxExpanded int
	strict      bool
}

func (c *common) flags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.strict, "strict", false, "unknown keys in lists, macros and rules are errors, not warnings")
	cmd.Flags().BoolVar(&c.withDefault, "default", false, "load the embedded upstream falco_rules.yaml before PATH... (to check override files)")
	cmd.Flags().BoolVar(&c.withAudit, "default-k8s-audit", false, "load the embedded upstream k8s_audit_rules.yaml (source k8s_audit) before PATH..., after --default")
	cmd.Flags().IntVar(&c.maxExpanded, "max-expanded-bytes", compile.DefaultMaxExpandedBytes, "cap on what lists, list substitution and macros may expand to (rules_max_expanded_bytes)")
	cmd.Flags().StringVar(&c.minPriority, "min-priority", "debug", "least severe priority that runs ("+api.AllowedPriorities+")")
}

// load reads and compiles the sources; errors are printed to stderr.
func (c *common) load(paths []string, stderr io.Writer) (*rules.Engine, *rules.Report, error) {
	prio, err := api.ParsePriority(c.minPriority)
	if err != nil {
		return nil, nil, fmt.Errorf("--min-priority: %w", err)
	}
	srcs, err := rules.LoadPaths(paths)
	if err != nil {
		return nil, nil, err
	}
	if c.withAudit {
		srcs = append([]rules.Source{{Name: ruleset.K8sAuditName, Data: ruleset.K8sAudit}}, srcs...)
	}
	if c.withDefault {
		srcs = append([]rules.Source{{Name: ruleset.DefaultName, Data: ruleset.Default}}, srcs...)
	}
	if len(srcs) == 0 {
		return nil, nil, fmt.Errorf("no rules files found in %s", strings.Join(paths, ", "))
	}
	e, rep, err := rules.Load(srcs, rules.Options{MinPriority: prio, MaxExpandedBytes: c.maxExpanded, Strict: c.strict})
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return nil, nil, ErrInvalid
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	return e, rep, nil
}

// NewCommand returns the `rules` command with its validate and list
// subcommands, writing results to stdout and errors and warnings to
// stderr.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "rules",
		Short: "Check and describe Falco rules files",
		Args:  cobra.NoArgs,
	}
	root.AddCommand(validateCommand(stdout, stderr), listCommand(stdout, stderr))
	return root
}

func validateCommand(stdout, stderr io.Writer) *cobra.Command {
	var c common
	cmd := &cobra.Command{
		Use:   "validate PATH...",
		Short: "Load rules files (files or directories of *.yaml) in order and report errors or per-file counts",
		Long: "validate loads the rules files in order, as the sensor does, and prints for each file the\n" +
			"number of rules, macros and lists it defines. Errors show file:line:col, the offending line\n" +
			"and a caret; the exit status is then non-zero.",
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(_ *cobra.Command, args []string) error {
			e, rep, err := c.load(args, stderr)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					fmt.Fprintf(stderr, "error: %v\n", err)
				}
				return err
			}
			for _, f := range rep.Files {
				fmt.Fprintf(stdout, "%s: %d rules, %d macros, %d lists", f.Name, f.Rules, f.Macros, f.Lists)
				if len(f.Overrides) > 0 {
					fmt.Fprintf(stdout, "; overrides %d: %s", len(f.Overrides), strings.Join(f.Overrides, ", "))
				}
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "ok: %d rules, %d active", rep.Rules, rep.Active)
			if n := e.ActiveRules(rules.SourceK8sAudit); n > 0 {
				fmt.Fprintf(stdout, " (%d syscall, %d k8s_audit)", e.ActiveRules(rules.SourceSyscall), n)
			}
			if len(rep.Skipped) > 0 {
				fmt.Fprintf(stdout, ", %d skipped (%s)", len(rep.Skipped), strings.Join(rep.Skipped, ", "))
			}
			if rep.RequiredEngineVersion != "" {
				fmt.Fprintf(stdout, "; requires engine %s (have %s)", rep.RequiredEngineVersion, rules.EngineVersion)
			}
			for _, p := range rep.Plugins {
				fmt.Fprintf(stdout, "; plugin %s %s (%s)", p.Name, p.Version, pluginNote(p.Name))
			}
			fmt.Fprintln(stdout)
			return nil
		},
	}
	c.flags(cmd)
	return cmd
}

func listCommand(stdout, stderr io.Writer) *cobra.Command {
	var c common
	var asJSON bool
	cmd := &cobra.Command{
		Use:           "list PATH...",
		Short:         "List the rules of rules files: name, priority, tags, event types, enabled, source",
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(_ *cobra.Command, args []string) error {
			e, _, err := c.load(args, stderr)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					fmt.Fprintf(stderr, "error: %v\n", err)
				}
				return err
			}
			infos := e.Rules()
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(infos)
			}
			tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPRIORITY\tENABLED\tEVENT SOURCE\tEVENT TYPES\tTAGS\tSOURCE")
			for _, r := range infos {
				en := "yes"
				switch {
				case !r.Enabled:
					en = "no"
				case !r.Active:
					en = "not run: " + r.Inactive
				}
				types := strings.Join(r.EventTypes, ",")
				if r.EventSource != rules.SourceSyscall {
					types = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Priority, en, r.EventSource,
					types, strings.Join(r.Tags, ","), r.Source)
			}
			return tw.Flush()
		},
	}
	c.flags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

// pluginNote says what is true of a plugin a rules file requires: Lookout
// loads no plugins, but has some of their fields built in.
func pluginNote(name string) string {
	switch name {
	case "container":
		return "not loaded: Lookout has the container fields built in"
	case "k8saudit", "k8saudit-aks", "k8saudit-eks", "k8saudit-gke":
		return "not loaded: Lookout has the k8s_audit source and its ka.* fields built in (sources.k8s_audit)"
	case "json":
		return "not loaded: Lookout has the json.* and jevt.* fields built in for k8s_audit rules"
	}
	return "not loaded: Lookout loads no plugins; rules that need its fields or source are skipped"
}
