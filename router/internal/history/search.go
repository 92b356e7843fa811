package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// rareLimit: a filter matching fewer alerts drives the search (its ids
// are read first); one matching more is checked per alert while the
// search walks the time index, which finds a page after a few thousand.
const rareLimit = 5000

// rare reports whether the rows of stmt (a SELECT) are fewer than
// rareLimit, reading at most that many index entries.
func (s *SQL) rare(ctx context.Context, stmt string, args ...any) (bool, error) {
	var n int
	q := "SELECT COUNT(*) FROM (" + stmt + " LIMIT " + strconv.Itoa(rareLimit) + ") AS x"
	if err := s.db.QueryRowContext(ctx, s.q(q), args...).Scan(&n); err != nil {
		return false, fmt.Errorf("history: search: %w", err)
	}
	return n < rareLimit, nil
}

const alertColumns = `id, uuid, ts, rule, priority, source, hostname, output, tags, fields, finding, finding_status, outputs, silences`

// Search returns the newest matching alerts first.
func (s *SQL) Search(ctx context.Context, q Query) ([]Alert, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if !q.Since.IsZero() {
		add("ts >= ?", q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		add("ts < ?", q.Until.UnixNano())
	}
	if q.Before.ID > 0 {
		add("(ts < ? OR ts = ? AND id < ?)", q.Before.TS, q.Before.TS, q.Before.ID)
	}
	if q.Rule != "" {
		add("rule = ?", q.Rule)
	}
	if q.MinPriority != nil {
		add("priority <= ?", int(*q.MinPriority))
	}
	if q.Source != "" {
		add("source = ?", q.Source)
	}
	if q.Tag != "" {
		q.Fields = maps.Clone(q.Fields) // q is a copy, its map is not
		if q.Fields == nil {
			q.Fields = map[string]string{}
		}
		q.Fields["#tag"] = q.Tag // a tag is a field row named #tag
	}
	names := make([]string, 0, len(q.Fields))
	for k := range q.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch k {
		case "hostname":
			add("hostname = ?", q.Fields[k])
		case "rule":
			add("rule = ?", q.Fields[k])
		case "source":
			add("source = ?", q.Fields[k])
		default:
			rare, err := s.rare(ctx, "SELECT 1 FROM alert_fields WHERE name = ? AND value = ?", k, q.Fields[k])
			if err != nil {
				return nil, err
			}
			if rare {
				add("id IN (SELECT alert_id FROM alert_fields WHERE name = ? AND value = ?)", k, q.Fields[k])
			} else {
				add("EXISTS (SELECT 1 FROM alert_fields WHERE name = ? AND value = ? AND alert_id = alerts.id)", k, q.Fields[k])
			}
		}
	}
	if words := strings.Fields(q.Text); len(words) > 0 {
		// Always the matches first: probing the FTS index once per alert
		// is far slower (4 s over 1 M alerts) than reading every match.
		add(s.d.textMatch, s.d.textQuery(words))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	stmt := "SELECT " + alertColumns + " FROM alerts"
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	// Newest by the alert's time first, walking the time index backwards
	// (ids break ties, and page with the time).
	stmt += " ORDER BY ts DESC, id DESC LIMIT " + strconv.Itoa(limit)
	rows, err := s.db.QueryContext(ctx, s.q(stmt), args...)
	if err != nil {
		return nil, fmt.Errorf("history: search: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: search: %w", err)
	}
	return out, nil
}

func scanAlert(r interface{ Scan(...any) error }) (Alert, error) {
	var (
		a                               Alert
		ts                              int64
		prio                            int
		tags, fields, outputs, silences string
	)
	if err := r.Scan(&a.ID, &a.UUID, &ts, &a.Rule, &prio, &a.Source, &a.Hostname, &a.Output, &tags, &fields,
		&a.Finding, &a.FindingStatus, &outputs, &silences); err != nil {
		return a, fmt.Errorf("history: read alert: %w", err)
	}
	a.Time, a.Priority = time.Unix(0, ts).UTC(), api.Priority(prio)
	for _, x := range []struct {
		s string
		v any
	}{{tags, &a.Tags}, {fields, &a.Fields}, {outputs, &a.Outputs}, {silences, &a.Silences}} {
		if err := json.Unmarshal([]byte(x.s), x.v); err != nil {
			return a, fmt.Errorf("history: alert %d: %w", a.ID, err)
		}
	}
	return a, nil
}

// Get returns one alert by uuid.
func (s *SQL) Get(ctx context.Context, uuid string) (Alert, error) {
	row := s.db.QueryRowContext(ctx, s.q("SELECT "+alertColumns+" FROM alerts WHERE uuid = ? ORDER BY id DESC LIMIT 1"), uuid)
	a, err := scanAlert(row)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}
