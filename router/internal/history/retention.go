package history

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// pruneChunk is how many alerts one retention step deletes.
const pruneChunk = 5000

// Prune drops alerts older than maxAge (by their time, oldest stored
// first), then the oldest stored until the store uses at most maxBytes
// (it deletes down to 90% so that it does not run at every write). With
// several stores on one database (replicas) one prunes at a time; the
// others return at once, having pruned nothing.
func (s *SQL) Prune(ctx context.Context, now time.Time, maxAge time.Duration, maxBytes int64) (Pruned, error) {
	var p Pruned
	if s.d.pruneLock != nil {
		unlock, ok, err := s.d.pruneLock(ctx, s.db)
		if err != nil || !ok {
			return p, err
		}
		defer unlock()
	}
	cutoff := now.Add(-maxAge)
	for {
		seen, n, err := s.deleteOldest(ctx, "WHERE ts < ?", cutoff.UnixNano())
		p.Age += n
		if err != nil || seen < pruneChunk {
			if err == nil {
				_, err = s.db.ExecContext(ctx, s.q("DELETE FROM alert_counts WHERE minute < ?"), minuteOf(cutoff))
			}
			if err == nil {
				_, err = s.db.ExecContext(ctx, s.q("DELETE FROM alert_counts_hour WHERE hour < ?"), minuteOf(cutoff)/60)
			}
			if err != nil {
				return p, fmt.Errorf("history: prune counts: %w", err)
			}
			break
		}
	}
	if maxBytes <= 0 {
		return p, nil
	}
	used, err := s.d.usedBytes(ctx, s.db)
	if err != nil || used <= maxBytes {
		return p, err
	}
	target := maxBytes * 9 / 10
	for used > target {
		seen, n, err := s.deleteOldest(ctx, "")
		p.Bytes += n
		if err != nil || seen == 0 {
			return p, err
		}
		if used, err = s.d.usedBytes(ctx, s.db); err != nil {
			return p, err
		}
	}
	return p, nil
}

// deleteOldest deletes up to pruneChunk of the oldest stored alerts that
// match where, with their fields and text. It returns how many it found
// and how many it deleted (fewer when another store deleted some first).
func (s *SQL) deleteOldest(ctx context.Context, where string, args ...any) (seen, deleted int64, err error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id FROM alerts "+where+" ORDER BY id LIMIT "+strconv.Itoa(pruneChunk)), args...)
	if err != nil {
		return 0, 0, fmt.Errorf("history: prune: %w", err)
	}
	var ids []any
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("history: prune: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, 0, err
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("history: prune: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var freed int64
	if s.d.sized {
		deleted, freed, err = deleteSized(ctx, tx, s.q("DELETE FROM alerts WHERE id IN ("+marks+") RETURNING size"), ids)
	} else {
		var res sql.Result
		if res, err = tx.ExecContext(ctx, s.q("DELETE FROM alerts WHERE id IN ("+marks+")"), ids...); err == nil {
			deleted, err = res.RowsAffected()
		}
	}
	if err != nil {
		return 0, 0, fmt.Errorf("history: prune: %w", err)
	}
	stmts := []string{"DELETE FROM alert_fields WHERE alert_id IN (" + marks + ")"}
	if s.d.textDelete != "" {
		stmts = append(stmts, fmt.Sprintf(s.d.textDelete, marks))
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, s.q(q), ids...); err != nil {
			return 0, 0, fmt.Errorf("history: prune: %w", err)
		}
	}
	if s.d.sized && freed != 0 {
		if err := addUsage(ctx, tx, s.q, -freed); err != nil {
			return 0, 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("history: prune: %w", err)
	}
	return int64(len(ids)), deleted, nil
}

// deleteSized runs a DELETE … RETURNING size: how many rows it deleted
// and their sizes' sum.
func deleteSized(ctx context.Context, tx *sql.Tx, stmt string, ids []any) (n, bytes int64, err error) {
	rows, err := tx.QueryContext(ctx, stmt, ids...)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var b int64
		if err := rows.Scan(&b); err != nil {
			return 0, 0, err
		}
		n, bytes = n+1, bytes+b
	}
	return n, bytes, rows.Err()
}

// Stats describes the store.
func (s *SQL) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var oldest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*), MIN(ts) FROM alerts").Scan(&st.Alerts, &oldest); err != nil {
		return st, fmt.Errorf("history: stats: %w", err)
	}
	if oldest.Valid {
		st.Oldest = time.Unix(0, oldest.Int64).UTC()
	}
	b, err := s.d.usedBytes(ctx, s.db)
	st.Bytes = b
	return st, err
}
