package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// queueCommand checks and salvages the queue file (docs/router-delivery.md,
// "Damaged queue files"). The router must be stopped.
func queueCommand() *cobra.Command {
	var file, to string
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Check or salvage the queue file (the router must be stopped)",
	}
	cmd.PersistentFlags().StringVarP(&file, "config", "c", "", "the router's YAML config file (required)")
	path := func() (string, error) {
		if file == "" {
			return "", errors.New("--config FILE is required")
		}
		cfg, err := config.Load(file, registry.Builtin())
		if err != nil {
			return "", err
		}
		if cfg.Queue.Dir == "" {
			return "", errors.New("queue.dir is empty: the queue is in memory, there is no file")
		}
		return filepath.Join(cfg.Queue.Dir, queue.FileName), nil
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Read every page and record of the queue file and report what is readable; exit 1 if damaged",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := path()
			if err != nil {
				return err
			}
			rep, err := queue.Check(p)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), rep)
			if !rep.OK() {
				return fmt.Errorf("%s is damaged: `lookout-router queue salvage --config %s --to NEWDIR` copies what is readable", p, file)
			}
			return nil
		},
	}
	salvage := &cobra.Command{
		Use:   "salvage --to NEWDIR",
		Short: "Copy every readable record of the queue file into a new queue under NEWDIR and report what was lost",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errors.New("--to NEWDIR is required")
			}
			p, err := path()
			if err != nil {
				return err
			}
			rep, err := queue.Salvage(p, to)
			if err != nil {
				return err
			}
			var n, bad int
			var missing uint64
			for _, b := range rep.Buckets {
				n += b.Records
				bad += b.Undecodable
				missing += b.Missing
			}
			fmt.Fprint(cmd.OutOrStdout(), rep)
			fmt.Fprintf(cmd.OutOrStdout(), "copied %d records (%d undecodable: dead letters at the next start) to %s; lost: %d damaged subtrees, %d keys missing between readable ones\nset queue.dir to %s and start the router\n",
				n, bad, filepath.Join(to, queue.FileName), len(rep.Damage), missing, to)
			return nil
		},
	}
	salvage.Flags().StringVar(&to, "to", "", "an empty directory for the new queue (required)")
	cmd.AddCommand(check, salvage)
	return cmd
}
