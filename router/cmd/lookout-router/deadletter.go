package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// deadletterCommand manages the dead-letter store. It opens the queue file
// itself, so the router must be stopped (bbolt holds an exclusive lock).
func deadletterCommand() *cobra.Command {
	var (
		file      string
		output    string
		asJSON    bool
		all       bool
		cfgListen string
	)
	cmd := &cobra.Command{
		Use:   "deadletter",
		Short: "List, replay or purge dead letters (the router must be stopped)",
		Long: `Dead letters are alerts an output gave up on: a permanent failure (4xx other
than 408/425/429) or a spent retry budget (retry.max_attempts, retry.max_age).
These commands open the queue file under queue.dir directly; bbolt allows one
process at a time, so stop the router first (they fail saying so otherwise).
While the router runs, use its admin API instead (admin.tokens; see
docs/router-delivery.md).
Replayed alerts go to the end of their output's queue with a fresh retry budget
and are delivered at the router's next start.`,
	}
	cmd.PersistentFlags().StringVarP(&file, "config", "c", "", "the router's YAML config file (required)")
	cmd.PersistentFlags().StringVar(&output, "output", "", "only this output (default: every configured output)")

	open := func() (*queue.Store, []string, error) {
		if file == "" {
			return nil, nil, errors.New("--config FILE is required")
		}
		cfg, err := config.Load(file, registry.Builtin())
		if err != nil {
			return nil, nil, err
		}
		cfgListen = cfg.Listen
		if cfg.Queue.Dir == "" {
			return nil, nil, errors.New("queue.dir is empty: the queue is in memory, there are no dead letters on disk")
		}
		var names []string
		var qo []queue.OutputOptions
		for _, o := range cfg.Outputs {
			qo = append(qo, queue.OutputOptions{Name: o.Name})
			if output == "" || output == o.Name {
				names = append(names, o.Name)
			}
		}
		if len(names) == 0 {
			return nil, nil, fmt.Errorf("--output %q: no such output in %s", output, file)
		}
		s, err := queue.Open(queue.Options{Dir: cfg.Queue.Dir, Outputs: qo, Logger: slog.New(slog.DiscardHandler)})
		if errors.Is(err, queue.ErrLocked) {
			return nil, nil, fmt.Errorf("%w\nstop lookout-router first: dead-letter commands need the queue file to themselves;\n"+
				"or, with admin.tokens configured, use the running router's admin API: "+
				"curl -H 'Authorization: Bearer TOKEN' http://%s/admin/deadletters", err, cfgListen)
		}
		return s, names, err
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters: id, output, attempts, last attempt, rule, uuid, last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, names, err := open()
			if err != nil {
				return err
			}
			defer s.Close()
			var dls []queue.DeadLetter
			for _, n := range names {
				d, err := s.DeadLetters(n)
				if err != nil {
					return err
				}
				dls = append(dls, d...)
			}
			return printDeadLetters(cmd.OutOrStdout(), dls, asJSON)
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line (with the full alert)")

	idsOf := func(args []string) ([]uint64, error) {
		if len(args) > 0 && output == "" {
			return nil, errors.New("ids are per output: add --output NAME")
		}
		var ids []uint64
		for _, a := range args {
			id, err := strconv.ParseUint(a, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("id %q: not a number (see deadletter list)", a)
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	// each applies op (Replay or Purge) to the given ids of every selected
	// output and prints "<output>: <n> <verb>".
	each := func(cmd *cobra.Command, args []string, verb string, op func(*queue.Store, string, []uint64) (int, error)) error {
		ids, err := idsOf(args)
		if err != nil {
			return err
		}
		s, names, err := open()
		if err != nil {
			return err
		}
		defer s.Close()
		for _, n := range names {
			c, err := op(s, n, ids)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d %s\n", n, c, verb)
		}
		return nil
	}
	replay := &cobra.Command{
		Use:   "replay [ID...]",
		Short: "Move dead letters (all, or the given ids of --output) back to their output's queue",
		RunE: func(cmd *cobra.Command, args []string) error {
			return each(cmd, args, "re-queued", (*queue.Store).Replay)
		},
	}
	purge := &cobra.Command{
		Use:   "purge (--all | --output NAME ID...)",
		Short: "Delete dead letters for good",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !all {
				return errors.New("give the ids to delete (with --output) or --all")
			}
			return each(cmd, args, "purged", (*queue.Store).Purge)
		},
	}
	purge.Flags().BoolVar(&all, "all", false, "delete every dead letter (of --output, or of every output)")
	cmd.AddCommand(list, replay, purge)
	return cmd
}

func printDeadLetters(w io.Writer, dls []queue.DeadLetter, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, d := range dls {
			if err := enc.Encode(d); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tOUTPUT\tATTEMPTS\tLAST ATTEMPT\tRULE\tUUID\tERROR")
	for _, d := range dls {
		var a api.Alert
		_ = json.Unmarshal(d.Alert, &a)
		last := "-"
		if !d.LastAttempt.IsZero() {
			last = d.LastAttempt.Format(time.RFC3339)
		}
		errText := d.Error
		if len(errText) > 120 {
			errText = errText[:117] + "..."
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", d.ID, d.Output, d.Attempts, last, a.Rule, a.UUID, errText)
	}
	if len(dls) == 0 {
		fmt.Fprintln(tw, "(no dead letters)")
	}
	return tw.Flush()
}
