package history

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go)
)

// sqlite adds FTS5 (contentless, so the output line is stored once) for
// free text.
var sqlite = dialect{
	name: "sqlite",
	schema: append(append([]string{}, portable...),
		`CREATE VIRTUAL TABLE IF NOT EXISTS alerts_text USING fts5 (output, content='', contentless_delete=1)`),
	insertAlert: `INSERT INTO alerts (uuid, ts, rule, priority, source, hostname, output, tags, fields, finding, finding_status, outputs, silences)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	lastInsertID: true,
	textInsert:   `INSERT INTO alerts_text (rowid, output) VALUES (?, ?)`,
	textMatch:    `id IN (SELECT rowid FROM alerts_text WHERE alerts_text MATCH ?)`,
	textQuery: func(words []string) string {
		q := make([]string, len(words))
		for i, w := range words { // each word a quoted string: no FTS syntax from the user
			q[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		}
		return strings.Join(q, " ")
	},
	textDelete: `DELETE FROM alerts_text WHERE rowid IN (%s)`,
	usedBytes: func(ctx context.Context, db *sql.DB) (int64, error) {
		var pages, free, size int64
		for _, p := range []struct {
			q string
			v *int64
		}{{"PRAGMA page_count", &pages}, {"PRAGMA freelist_count", &free}, {"PRAGMA page_size", &size}} {
			if err := db.QueryRowContext(ctx, p.q).Scan(p.v); err != nil {
				return 0, fmt.Errorf("history: %s: %w", p.q, err)
			}
		}
		return (pages - free) * size, nil
	},
}

// OpenSQLite opens (creating) the history at path, in WAL mode; an empty
// path keeps it in memory (lost on exit).
func OpenSQLite(ctx context.Context, path string) (*SQL, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)"
	conns := 4
	if path == "" {
		// One connection: every connection would get a memory database of its own.
		dsn, conns = "file::memory:?_pragma=busy_timeout(5000)", 1
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	s := &SQL{db: db, d: sqlite}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	return s, nil
}
