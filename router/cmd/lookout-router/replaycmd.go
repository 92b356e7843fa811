package main

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/replay"
)

func replayCommand() *cobra.Command {
	var (
		file, outDir string
		asJSON       bool
		batch        int
	)
	cmd := &cobra.Command{
		Use:   "replay FILE.jsonl[.gz] --config FILE",
		Short: "Feed a recorded alert stream through the filters and noise stage, with a simulated clock",
		Long: `replay runs recorded alerts (JSON lines, Falco's alert JSON, in time order;
.gz is read as gzip) through the config's outputs — filters, noise control,
queues, group digests — with a clock that follows the alerts' times, and prints
per output what was received, what it would have been sent, and what was held
back, by reason. Nothing is sent anywhere and the config's queue is not opened.
With --out DIR, what each output would have been sent is written to DIR/NAME.jsonl.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("--config FILE is required")
			}
			cfg, err := config.Load(file, registry.Builtin())
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			var r io.Reader = f
			if strings.HasSuffix(args[0], ".gz") {
				zr, err := gzip.NewReader(f)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				defer zr.Close()
				r = zr
			}
			opts := replay.Options{Batch: batch}
			if outDir != "" {
				if err := os.MkdirAll(outDir, 0o755); err != nil {
					return err
				}
				files := map[string]*json.Encoder{}
				for _, o := range cfg.Outputs {
					of, err := os.Create(filepath.Join(outDir, o.Name+".jsonl"))
					if err != nil {
						return err
					}
					defer of.Close()
					files[o.Name] = json.NewEncoder(of)
				}
				opts.Sink = func(output string, a *api.Alert) { _ = files[output].Encode(a) }
			}
			rep, err := replay.Run(cmd.Context(), cfg, r, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if asJSON {
				return rep.JSON(cmd.OutOrStdout())
			}
			rep.Print(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "the router config whose outputs and noise settings to try (required)")
	cmd.Flags().StringVar(&outDir, "out", "", "write what each output would be sent to DIR/OUTPUT.jsonl")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().IntVar(&batch, "batch", 1, "alerts per ingest request")
	return cmd
}
