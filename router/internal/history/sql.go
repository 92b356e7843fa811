package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/noise"
)

// dialect holds what differs between SQL databases.
type dialect struct {
	name string
	// schema creates the portable tables and the free-text index (none:
	// the tables are made by versioned migrations elsewhere).
	schema []string
	// bind rewrites a statement's ? placeholders (nil: as written).
	bind func(string) string
	// insertAlert inserts the 13 columns of alertColumns after id (and,
	// when sized, the alert's size) and returns the new id (RETURNING id),
	// or the driver's LastInsertId tells it (lastInsertID: for SQLite in
	// process, half the cost of reading a RETURNING row).
	insertAlert  string
	lastInsertID bool
	// sized: each alert's estimated size is stored with it and summed in
	// alert_usage, which usedBytes reads (retention by bytes).
	sized bool
	// textInsert adds (rowid, output) to the free-text index; "" when the
	// index follows the alerts' rows by itself.
	textInsert string
	// textMatch is a condition on alerts for a free-text query; the one
	// argument is textQuery's result.
	textMatch string
	textQuery func(words []string) string
	// textDelete removes ids from the free-text index ("%s": placeholders;
	// "" when it follows the rows).
	textDelete string
	// usedBytes returns the bytes the history uses.
	usedBytes func(ctx context.Context, db *sql.DB) (int64, error)
	// pruneLock, when set, lets one store of several on the database prune
	// at a time: ok false means another one is pruning.
	pruneLock func(ctx context.Context, db *sql.DB) (unlock func(), ok bool, err error)
	// fieldChunk is how many field rows one INSERT takes (0: one). Over a
	// network many rows a statement save round trips; in process (SQLite)
	// one prepared row at a time is faster.
	fieldChunk int
	// text makes a string storable (nil: every string is).
	text func(string) string
	// retry reports whether a write failed in a way that running it again
	// may fix (a deadlock, a serialization failure, a stale connection);
	// nil: never.
	retry func(err error) bool
}

// portable is the schema every SQL database takes: alerts, one row per
// (output field, value) for exact field search, and per-minute counts per
// dimension for the charts and top lists (kept as the alerts are written,
// so a 7-day chart reads at most 10,080 rows per value).
var portable = []string{
	`CREATE TABLE IF NOT EXISTS alerts (
		id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, ts BIGINT NOT NULL, rule TEXT NOT NULL,
		priority INTEGER NOT NULL, source TEXT NOT NULL, hostname TEXT NOT NULL, output TEXT NOT NULL,
		tags TEXT NOT NULL, fields TEXT NOT NULL, finding TEXT NOT NULL, finding_status TEXT NOT NULL,
		outputs TEXT NOT NULL, silences TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts)`,
	`CREATE INDEX IF NOT EXISTS alerts_uuid ON alerts (uuid)`,
	`CREATE INDEX IF NOT EXISTS alerts_rule_ts ON alerts (rule, ts)`,
	`CREATE TABLE IF NOT EXISTS alert_fields (
		name TEXT NOT NULL, value TEXT NOT NULL, alert_id BIGINT NOT NULL, PRIMARY KEY (name, value, alert_id))`,
	`CREATE INDEX IF NOT EXISTS alert_fields_id ON alert_fields (alert_id)`,
	`CREATE TABLE IF NOT EXISTS alert_counts (
		dim TEXT NOT NULL, minute BIGINT NOT NULL, value TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (dim, minute, value))`,
	// The same per hour, for the top lists of long ranges (hour = minute/60).
	`CREATE TABLE IF NOT EXISTS alert_counts_hour (
		dim TEXT NOT NULL, hour BIGINT NOT NULL, value TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (dim, hour, value))`,
}

// maxFieldValue: longer values are stored with the alert but not indexed
// for exact search.
const maxFieldValue = 256

// SQL is a Store over database/sql.
type SQL struct {
	db *sql.DB
	d  dialect
}

func (s *SQL) init(ctx context.Context) error {
	for _, q := range s.d.schema {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("history schema (%s): %w", s.d.name, err)
		}
	}
	return nil
}

// q is a statement in the dialect's placeholders.
func (s *SQL) q(stmt string) string {
	if s.d.bind == nil {
		return stmt
	}
	return s.d.bind(stmt)
}

// text is str as the dialect can store it.
func (s *SQL) text(str string) string {
	if s.d.text == nil {
		return str
	}
	return s.d.text(str)
}

// Close closes the database.
func (s *SQL) Close() error { return s.db.Close() }

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

// appendAttempts bounds Append's runs when the dialect says a failed
// transaction may be run again (enough to go through a pool's stale
// connections after a database restart).
const appendAttempts = 10

// errCommit marks a failed commit, which is not run again.
var errCommit = errors.New("history: commit")

// Append stores alerts, their field rows, text index and counts in one
// transaction.
func (s *SQL) Append(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	for attempt := 1; ; attempt++ {
		err := s.append(ctx, alerts)
		if err == nil || s.d.retry == nil || !s.d.retry(err) || attempt == appendAttempts {
			return err
		}
	}
}

// insertAlert runs the prepared alert insert and reads the new id.
func insertAlert(ctx context.Context, ins *sql.Stmt, lastID bool, args []any, id *int64) error {
	if !lastID {
		return ins.QueryRowContext(ctx, args...).Scan(id)
	}
	res, err := ins.ExecContext(ctx, args...)
	if err != nil {
		return err
	}
	*id, err = res.LastInsertId()
	return err
}

// insertFields inserts rows (name, value, alert id: three values each),
// chunk rows per INSERT statement. The full-chunk statement is prepared
// once per transaction; only the last, shorter one is built apart.
func (s *SQL) insertFields(ctx context.Context, tx *sql.Tx, rows []any, chunk int) error {
	stmt := func(n int) string {
		return s.q("INSERT INTO alert_fields (name, value, alert_id) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", ") + " ON CONFLICT DO NOTHING")
	}
	var full *sql.Stmt
	for len(rows) > 0 {
		n := min(len(rows), 3*chunk)
		var err error
		if n == 3*chunk {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, stmt(chunk)); err != nil {
					return fmt.Errorf("history: prepare: %w", err)
				}
			}
			_, err = full.ExecContext(ctx, rows[:n]...)
		} else {
			_, err = tx.ExecContext(ctx, stmt(n/3), rows[:n]...)
		}
		if err != nil {
			return fmt.Errorf("history: insert fields: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

func (s *SQL) append(ctx context.Context, alerts []Alert) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("history: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	ins, err := tx.PrepareContext(ctx, s.q(s.d.insertAlert))
	if err != nil {
		return fmt.Errorf("history: prepare: %w", err)
	}
	var txt *sql.Stmt
	if s.d.textInsert != "" {
		if txt, err = tx.PrepareContext(ctx, s.q(s.d.textInsert)); err != nil {
			return fmt.Errorf("history: prepare: %w", err)
		}
	}
	counts := map[[3]string]int64{}
	var (
		fieldRows []any // name, value, alert id
		total     int64 // estimated bytes written
	)
	for i := range alerts {
		a := &alerts[i]
		tags, _ := json.Marshal(nonNil(a.Tags))
		fields, _ := json.Marshal(a.Fields)
		outs, _ := json.Marshal(a.Outputs)
		sil, _ := json.Marshal(nonNil(a.Silences))
		first := len(fieldRows)
		for k, v := range a.Fields {
			if v == nil {
				continue
			}
			if t := fieldText(v); len(t) <= maxFieldValue {
				fieldRows = append(fieldRows, s.text(k), s.text(t), nil)
			}
		}
		for _, t := range a.Tags {
			fieldRows = append(fieldRows, "#tag", s.text(t), nil)
		}
		args := []any{s.text(a.UUID), a.Time.UnixNano(), s.text(a.Rule), int(a.Priority), s.text(a.Source), s.text(a.Hostname), s.text(a.Output),
			string(tags), string(fields), s.text(a.Finding), s.text(a.FindingStatus), string(outs), string(sil)}
		if s.d.sized {
			size := rowSize(a, len(tags)+len(fields)+len(outs)+len(sil), fieldRows[first:])
			total += size
			args = append(args, size)
		}
		if err := insertAlert(ctx, ins, s.d.lastInsertID, args, &a.ID); err != nil {
			return fmt.Errorf("history: insert: %w", err)
		}
		for j := first + 2; j < len(fieldRows); j += 3 {
			fieldRows[j] = a.ID
		}
		if txt != nil {
			if _, err := txt.ExecContext(ctx, a.ID, a.Output); err != nil {
				return fmt.Errorf("history: index text: %w", err)
			}
		}
		m := strconv.FormatInt(minuteOf(a.Time), 10)
		counts[[3]string{DimPriority, m, a.Priority.String()}]++
		counts[[3]string{DimRule, m, a.Rule}]++
		for _, dim := range []string{DimHost, DimNamespace, DimWorkload} {
			if v := dimValue(a, dim); v != "" {
				counts[[3]string{dim, m, v}]++
			}
		}
	}
	if err := s.insertFields(ctx, tx, fieldRows, max(s.d.fieldChunk, 1)); err != nil {
		return err
	}
	if err := s.count(ctx, tx, counts); err != nil {
		return err
	}
	if s.d.sized {
		// Last, so that the usage row is locked only until the commit.
		if err := addUsage(ctx, tx, s.q, total); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%w: %w", errCommit, err)
	}
	return nil
}

// count adds per-minute and per-hour counts, in key order: transactions
// of several stores on one database then lock the rows they share in the
// same order and never deadlock on each other.
func (s *SQL) count(ctx context.Context, tx *sql.Tx, counts map[[3]string]int64) error {
	up, err := tx.PrepareContext(ctx, s.q(`INSERT INTO alert_counts (dim, minute, value, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (dim, minute, value) DO UPDATE SET n = alert_counts.n + excluded.n`))
	if err != nil {
		return fmt.Errorf("history: prepare: %w", err)
	}
	uph, err := tx.PrepareContext(ctx, s.q(`INSERT INTO alert_counts_hour (dim, hour, value, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (dim, hour, value) DO UPDATE SET n = alert_counts_hour.n + excluded.n`))
	if err != nil {
		return fmt.Errorf("history: prepare: %w", err)
	}
	type key struct {
		dim   string
		t     int64
		value string
	}
	sorted := func(m map[key]int64) []key {
		ks := make([]key, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(i, j int) bool {
			a, b := ks[i], ks[j]
			return a.dim < b.dim || a.dim == b.dim && (a.t < b.t || a.t == b.t && a.value < b.value)
		})
		return ks
	}
	mins, hours := map[key]int64{}, map[key]int64{}
	for k, n := range counts {
		m, _ := strconv.ParseInt(k[1], 10, 64)
		mins[key{k[0], m, k[2]}] += n
		hours[key{k[0], m / 60, k[2]}] += n
	}
	for _, k := range sorted(mins) {
		if _, err := up.ExecContext(ctx, k.dim, k.t, k.value, mins[k]); err != nil {
			return fmt.Errorf("history: count: %w", err)
		}
	}
	for _, k := range sorted(hours) {
		if _, err := uph.ExecContext(ctx, k.dim, k.t, k.value, hours[k]); err != nil {
			return fmt.Errorf("history: count: %w", err)
		}
	}
	return nil
}

// dimValue is the value of an overview dimension; the workload comes from
// k8s.workload.name or else the pod name (noise.Workload).
func dimValue(a *Alert, dim string) string {
	if dim == DimHost {
		return a.Hostname
	}
	if v, ok := a.Field(dim); ok && v != "" && v != "<NA>" {
		return v
	}
	if dim == DimWorkload {
		if pod, ok := a.Field("k8s.pod.name"); ok && pod != "" && pod != "<NA>" {
			w, _ := noise.Workload(pod)
			return w
		}
	}
	return ""
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func fieldText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// hourlyTop: ranges at least this long count the top lists by whole
// hours (the range widened to the hours it touches).
const hourlyTop = 6 * time.Hour

// Top returns the n most frequent values of dim in [since, until); ranges
// of hourlyTop or more are counted by whole hours.
func (s *SQL) Top(ctx context.Context, dim string, since, until time.Time, n int) ([]Count, error) {
	stmt := `SELECT value, CAST(SUM(n) AS BIGINT) AS total FROM alert_counts
		WHERE dim = ? AND minute >= ? AND minute < ? GROUP BY value ORDER BY total DESC, value LIMIT ?`
	lo, hi := minuteOf(since), minuteOf(until)+1
	if until.Sub(since) >= hourlyTop {
		stmt = strings.Replace(strings.Replace(stmt, "alert_counts", "alert_counts_hour", 1), "minute", "hour", 2)
		lo, hi = lo/60, (hi-1)/60+1
	}
	rows, err := s.db.QueryContext(ctx, s.q(stmt), dim, lo, hi, n)
	if err != nil {
		return nil, fmt.Errorf("history: top %s: %w", dim, err)
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Value, &c.N); err != nil {
			return nil, fmt.Errorf("history: top %s: %w", dim, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Chart counts alerts per bucket of span by dim for its top n values
// (every priority for DimPriority, in order).
func (s *SQL) Chart(ctx context.Context, dim string, span Span, n int) ([]Series, error) {
	step := max(span.Step, time.Minute)
	buckets := int(span.Until.Sub(span.Since)/step) + 1
	if buckets > 2000 {
		return nil, fmt.Errorf("history: chart: %d buckets; take a longer step", buckets)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT minute, value, n FROM alert_counts
		WHERE dim = ? AND minute >= ? AND minute < ?`), dim, minuteOf(span.Since), minuteOf(span.Until)+1)
	if err != nil {
		return nil, fmt.Errorf("history: chart %s: %w", dim, err)
	}
	defer rows.Close()
	series := map[string]*Series{}
	stepMin := int64(step / time.Minute)
	first := minuteOf(span.Since)
	for rows.Next() {
		var (
			m, c int64
			v    string
		)
		if err := rows.Scan(&m, &v, &c); err != nil {
			return nil, fmt.Errorf("history: chart %s: %w", dim, err)
		}
		x := series[v]
		if x == nil {
			x = &Series{Name: v, Counts: make([]int64, buckets)}
			series[v] = x
		}
		if i := int((m - first) / stepMin); i >= 0 && i < buckets {
			x.Counts[i] += c
			x.Total += c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: chart %s: %w", dim, err)
	}
	out := make([]Series, 0, len(series))
	for _, x := range series {
		out = append(out, *x)
	}
	if dim == DimPriority {
		sort.Slice(out, func(i, j int) bool {
			pi, _ := api.ParsePriority(out[i].Name)
			pj, _ := api.ParsePriority(out[j].Name)
			return pi < pj
		})
		return out, nil
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Total > out[j].Total || out[i].Total == out[j].Total && out[i].Name < out[j].Name
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}
