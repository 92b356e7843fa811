package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lookout-sec/lookout/router/internal/noise"
)

// adminClient talks to a running router's admin API, in the spirit of
// amtool: --url and --token (or LOOKOUT_URL and LOOKOUT_ADMIN_TOKEN).
type adminClient struct {
	url    string
	token  string
	asJSON bool
	out    io.Writer
}

func (c *adminClient) flags(cmd *cobra.Command) {
	def := os.Getenv("LOOKOUT_URL")
	if def == "" {
		def = "http://127.0.0.1:2801"
	}
	cmd.PersistentFlags().StringVar(&c.url, "url", def, "the router's address (env LOOKOUT_URL)")
	cmd.PersistentFlags().StringVar(&c.token, "token", "", "an admin token (env LOOKOUT_ADMIN_TOKEN; see admin.tokens)")
	cmd.PersistentFlags().BoolVar(&c.asJSON, "json", false, "print the API's JSON")
}

func (c *adminClient) do(ctx context.Context, method, path string, q url.Values, body, into any) error {
	tok := c.token
	if tok == "" {
		tok = os.Getenv("LOOKOUT_ADMIN_TOKEN")
	}
	if tok == "" {
		return errors.New("an admin token is required: --token or LOOKOUT_ADMIN_TOKEN (the router's admin.tokens)")
	}
	u := strings.TrimRight(c.url, "/") + "/admin" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("router at %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusNotFound && strings.Contains(string(b), "no such endpoint") {
		return fmt.Errorf("%s %s: the router has no admin API (set admin.tokens in its config)", method, path)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if c.asJSON {
		_, err := c.out.Write(b)
		return err
	}
	if into != nil {
		return json.Unmarshal(b, into)
	}
	return nil
}

func silenceCommand() *cobra.Command {
	c := &adminClient{}
	cmd := &cobra.Command{
		Use:   "silence",
		Short: "Add, list, expire and query silences on a running router",
		Long: `Silences hold back matching alerts from notifying outputs (notify: all or new);
outputs that record everything still get them, annotated with the silence id.
Matchers are FIELD OP VALUE with OP one of =, !=, =~, !~, glob, !glob, in, !in,
on rule, priority, source, hostname, tags or any output field, e.g.
  lookout-router silence add 'k8s.ns.name glob "ci-*"' 'rule = "Terminal shell in container"' \
    --comment "CI runners exec into build pods" --duration 30d --author alice
See docs/noise.md.`,
	}
	c.flags(cmd)
	var (
		comment, author, duration, ends, starts string
		markExpected                            bool
	)
	add := &cobra.Command{
		Use:   "add MATCHER...",
		Short: "Create a silence",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.out = cmd.OutOrStdout()
			body := map[string]any{"matchers": args, "comment": comment, "created_by": author, "mark_expected": markExpected}
			if duration != "" {
				body["duration"] = duration
			}
			for k, v := range map[string]string{"ends_at": ends, "starts_at": starts} {
				if v != "" {
					t, err := time.Parse(time.RFC3339, v)
					if err != nil {
						return fmt.Errorf("--%s: %q is not an RFC 3339 time", strings.ReplaceAll(k, "_at", ""), v)
					}
					body[k] = t
				}
			}
			var x noise.Silence
			if err := c.do(cmd.Context(), http.MethodPost, "/silences", nil, body, &x); err != nil {
				return err
			}
			if !c.asJSON {
				fmt.Fprintln(c.out, x.ID)
			}
			return nil
		},
	}
	add.Flags().StringVar(&comment, "comment", "", "why (required)")
	add.Flags().StringVar(&author, "author", whoami(), "who")
	add.Flags().StringVar(&duration, "duration", "", "how long, e.g. 2h or 30d (default: no end)")
	add.Flags().StringVar(&ends, "end", "", "end time, RFC 3339 (instead of --duration)")
	add.Flags().StringVar(&starts, "start", "", "start time, RFC 3339 (default: now)")
	add.Flags().BoolVar(&markExpected, "mark-expected", false, "also mark the findings it matches expected")

	var state string
	list := &cobra.Command{
		Use:   "list",
		Short: "List silences (default: active)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.out = cmd.OutOrStdout()
			var xs []noise.Silence
			if err := c.do(cmd.Context(), http.MethodGet, "/silences", url.Values{"state": {state}}, nil, &xs); err != nil {
				return err
			}
			if c.asJSON {
				return nil
			}
			printSilences(c.out, xs)
			return nil
		},
	}
	list.Flags().StringVar(&state, "state", "active", "active, pending, expired or all")

	expire := &cobra.Command{
		Use:   "expire ID...",
		Short: "End silences now",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.out = cmd.OutOrStdout()
			for _, id := range args {
				if err := c.do(cmd.Context(), http.MethodPost, "/silences/"+url.PathEscape(id)+"/expire", nil, nil, nil); err != nil {
					return err
				}
			}
			return nil
		},
	}

	query := &cobra.Command{
		Use:   "query ALERT.json",
		Short: "Which active silences match an alert (a file with Falco's alert JSON, - for stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.out = cmd.OutOrStdout()
			b, err := readArg(cmd, args[0])
			if err != nil {
				return err
			}
			var xs []noise.Silence
			if err := c.do(cmd.Context(), http.MethodPost, "/silences/query", nil, json.RawMessage(b), &xs); err != nil {
				return err
			}
			if !c.asJSON {
				printSilences(c.out, xs)
			}
			return nil
		},
	}
	cmd.AddCommand(add, list, expire, query)
	return cmd
}

func readArg(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(name)
}

func printSilences(w io.Writer, xs []noise.Silence) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tENDS\tHELD BACK\tBY\tMATCHERS\tCOMMENT")
	now := time.Now()
	for _, x := range xs {
		end := "never"
		if !x.EndsAt.IsZero() {
			end = x.EndsAt.Local().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", x.ID, x.StateAt(now), end, x.HeldBack, x.CreatedBy, x.Matchers, x.Comment)
	}
	_ = tw.Flush()
}

func findingsCommand() *cobra.Command {
	c := &adminClient{}
	cmd := &cobra.Command{
		Use:   "findings",
		Short: "List, show and mark findings on a running router",
		Long: `A finding is every alert with one fingerprint: the rule plus the stable identity
of what did it (namespace, workload, image, executable, file...). Mark findings
expected once you have looked at them; outputs with notify: new then stay quiet
about them. See docs/noise.md.`,
	}
	c.flags(cmd)
	var (
		status, rule, since string
		matchers            []string
		limit               int
	)
	query := func() url.Values {
		q := url.Values{}
		for k, v := range map[string]string{"status": status, "rule": rule, "since": since} {
			if v != "" {
				q.Set(k, v)
			}
		}
		for _, m := range matchers {
			q.Add("match", m)
		}
		if limit > 0 {
			q.Set("limit", fmt.Sprint(limit))
		}
		return q
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List findings, most recently seen first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.out = cmd.OutOrStdout()
			var fs []noise.Finding
			if err := c.do(cmd.Context(), http.MethodGet, "/findings", query(), nil, &fs); err != nil {
				return err
			}
			if c.asJSON {
				return nil
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tCOUNT\tFIRST SEEN\tLAST SEEN\tRULE\tIDENTITY")
			for _, f := range fs {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", f.ID, f.Status, f.Count,
					f.FirstSeen.Local().Format("2006-01-02 15:04"), f.LastSeen.Local().Format("2006-01-02 15:04"), f.Rule, identity(f.Fields))
			}
			return tw.Flush()
		},
	}
	for _, sc := range []*cobra.Command{list} {
		sc.Flags().StringVar(&status, "status", "", "new, expected or resolved")
		sc.Flags().StringVar(&rule, "rule", "", "rule name (Falco glob)")
		sc.Flags().StringVar(&since, "since", "", "last seen since (RFC 3339 or a duration ago, e.g. 24h)")
		sc.Flags().StringArrayVar(&matchers, "match", nil, "a matcher on the finding's fields (repeatable)")
		sc.Flags().IntVar(&limit, "limit", 0, "at most this many (default 1000)")
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one finding and its sample alert (JSON)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.out = cmd.OutOrStdout()
			var v json.RawMessage
			if err := c.do(cmd.Context(), http.MethodGet, "/findings/"+url.PathEscape(args[0]), nil, nil, &v); err != nil {
				return err
			}
			if c.asJSON {
				return nil
			}
			var buf bytes.Buffer
			_ = json.Indent(&buf, v, "", "  ")
			_, err := fmt.Fprintln(c.out, buf.String())
			return err
		},
	}
	var (
		by, comment, expiresIn string
		mStatus, mRule         string
		mMatch                 []string
	)
	mark := &cobra.Command{
		Use:   "mark expected|resolved|new [ID...]",
		Short: "Set the status of findings by id, or of every finding selected by --rule/--match/--status",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.out = cmd.OutOrStdout()
			body := map[string]any{"status": args[0], "by": by, "comment": comment}
			if len(args) > 1 {
				body["ids"] = args[1:]
			}
			if mRule != "" || len(mMatch) > 0 || mStatus != "" {
				body["query"] = map[string]any{"rule": mRule, "match": mMatch, "status": mStatus}
			}
			if len(args) == 1 && body["query"] == nil {
				return errors.New("name finding ids, or select findings with --rule, --match or --status")
			}
			if expiresIn != "" {
				body["expires_in"] = expiresIn
			}
			var res map[string]int
			if err := c.do(cmd.Context(), http.MethodPost, "/findings/mark", nil, body, &res); err != nil {
				return err
			}
			if !c.asJSON {
				fmt.Fprintf(c.out, "%d finding(s) marked %s\n", res["marked"], args[0])
			}
			return nil
		},
	}
	mark.Flags().StringVar(&by, "by", whoami(), "who")
	mark.Flags().StringVar(&comment, "comment", "", "why")
	mark.Flags().StringVar(&expiresIn, "expires-in", "", "expected only until then, e.g. 30d")
	mark.Flags().StringVar(&mStatus, "status", "", "select findings with this status")
	mark.Flags().StringVar(&mRule, "rule", "", "select findings of rules matching this glob")
	mark.Flags().StringArrayVar(&mMatch, "match", nil, "select findings by a matcher (repeatable)")
	cmd.AddCommand(list, show, mark)
	return cmd
}

func identity(fields map[string]string) string {
	var parts []string
	for _, k := range []string{"k8s.ns.name", "k8s.workload.name", "container.image.repository", "hostname", "proc.exepath", "proc.name", "fd.name", "user.name"} {
		if v := fields[k]; v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

func learnCommand() *cobra.Command {
	c := &adminClient{}
	cmd := &cobra.Command{
		Use:   "learn",
		Short: "Learn a baseline on a running router: new findings notify nobody and become expected when it ends",
	}
	c.flags(cmd)
	var (
		dur, by string
		scope   []string
	)
	start := &cobra.Command{
		Use:   "start --for 2h [--match 'k8s.ns.name = shop']...",
		Short: "Start a learning window (e.g. after a big deploy)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.out = cmd.OutOrStdout()
			var w noise.Window
			if err := c.do(cmd.Context(), http.MethodPost, "/learning", nil, map[string]any{"for": dur, "by": by, "match": scope}, &w); err != nil {
				return err
			}
			if !c.asJSON {
				fmt.Fprintf(c.out, "%s learning until %s\n", w.ID, w.EndsAt.Local().Format(time.RFC3339))
			}
			return nil
		},
	}
	start.Flags().StringVar(&dur, "for", "", "how long, e.g. 2h or 1d (required)")
	start.Flags().StringVar(&by, "by", whoami(), "who")
	start.Flags().StringArrayVar(&scope, "match", nil, "only alerts matching (repeatable; default: everything)")
	stop := &cobra.Command{
		Use:   "stop ID",
		Short: "End a learning window now; what it saw becomes expected",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.out = cmd.OutOrStdout()
			return c.do(cmd.Context(), http.MethodPost, "/learning/"+url.PathEscape(args[0])+"/stop", nil, nil, nil)
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "List learning windows and their progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.out = cmd.OutOrStdout()
			var ws []noise.WindowStatus
			if err := c.do(cmd.Context(), http.MethodGet, "/learning", nil, nil, &ws); err != nil {
				return err
			}
			if c.asJSON {
				return nil
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tACTIVE\tPROGRESS\tFINDINGS\tENDS\tBY\tSCOPE")
			for _, w := range ws {
				fmt.Fprintf(tw, "%s\t%v\t%.0f%%\t%d\t%s\t%s\t%s\n", w.ID, w.Active, w.Progress*100, w.Findings, w.EndsAt.Local().Format(time.RFC3339), w.By, w.Scope)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(start, stop, status)
	return cmd
}

// whoami is the default author of CLI changes: $USER, $LOGNAME, or "cli".
func whoami() string {
	for _, k := range []string{"USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "cli"
}
