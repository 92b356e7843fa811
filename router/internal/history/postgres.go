package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// postgres is the dialect of a history shared by router replicas. Its
// tables come from router/internal/pgstate's versioned migrations
// (0002_ui_history.sql): the free text is a tsvector column the database
// computes from the output line (GIN index), ids are identity columns,
// and each alert's estimated size is summed in alert_usage, because a
// table's files do not shrink when rows are deleted.
var postgres = dialect{
	name: "postgres",
	bind: dollars,
	insertAlert: `INSERT INTO alerts (uuid, ts, rule, priority, source, hostname, output, tags, fields, finding, finding_status, outputs, silences, size)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
	sized:      true,
	fieldChunk: 300, // three parameters a row: within PostgreSQL's 65,535
	textMatch:  `words @@ to_tsquery('simple', ?)`,
	textQuery:  pgTextQuery,
	usedBytes: func(ctx context.Context, db *sql.DB) (int64, error) {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM alert_usage`).Scan(&n); err != nil {
			return 0, fmt.Errorf("history: usage: %w", err)
		}
		return n, nil
	},
	pruneLock: func(ctx context.Context, db *sql.DB) (func(), bool, error) {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("history: prune lock: %w", err)
		}
		var ok bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, pruneLockKey).Scan(&ok); err != nil || !ok {
			conn.Close()
			if err != nil {
				return nil, false, fmt.Errorf("history: prune lock: %w", err)
			}
			return nil, false, nil
		}
		return func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, pruneLockKey)
			conn.Close()
		}, true, nil
	},
	text:  pgText,
	retry: pgRetry,
}

// pgRetry: a deadlock or serialization failure, or a connection the
// server ended while it was idle in the pool (it was restarted: the
// write fails before anything was sent, or 57P01-57P03; the pool drops
// the connection and the next try takes another one). A failed commit is
// never run again: it may have committed.
func pgRetry(err error) bool {
	if errors.Is(err, errCommit) {
		return false
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40P01", "40001", "57P01", "57P02", "57P03":
		return true
	}
	return false
}

// pruneLockKey is the advisory lock the replica that prunes holds
// ("look-ui" in ASCII; the migrations take another).
const pruneLockKey = 0x6c6f6f6b2d7569

// OpenPostgres is the history in a PostgreSQL database that
// router/internal/pgstate.OpenDB connected and migrated; the store owns
// db and closes it. Several stores (one per replica) may share the
// database: each sees every alert any of them appended.
func OpenPostgres(ctx context.Context, db *sql.DB) (*SQL, error) {
	var ok bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('alert_usage') IS NOT NULL`).Scan(&ok); err != nil {
		return nil, fmt.Errorf("history (postgres): %w", err)
	}
	if !ok {
		return nil, errors.New("history (postgres): the history's tables are missing (pgstate.OpenDB migrates the database)")
	}
	return &SQL{db: db, d: postgres}, nil
}

// pgText replaces what a PostgreSQL text cannot hold: NUL (JSON's
// \u0000) and invalid UTF-8 become U+FFFD. (The JSON columns escape NUL.)
func pgText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// dollars numbers a statement's ? placeholders $1, $2, … (the statements
// of this package have no ? inside quotes).
func dollars(stmt string) string {
	if !strings.Contains(stmt, "?") {
		return stmt
	}
	var b strings.Builder
	b.Grow(len(stmt) + 16)
	n := 0
	for _, r := range stmt {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pgTextQuery is a tsquery over the words typed, cut as the column is
// (runs of letters and digits): every word must appear, a word of several
// runs ("team-7") as a phrase of them, like FTS5's quoted words. Only
// letters and digits reach the query, so no tsquery syntax from the user.
func pgTextQuery(words []string) string {
	var terms []string
	for _, w := range words {
		runs := strings.FieldsFunc(strings.ToLower(w), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if len(runs) == 0 {
			continue
		}
		for i, r := range runs {
			runs[i] = "'" + r + "'"
		}
		terms = append(terms, strings.Join(runs, " <-> "))
	}
	return strings.Join(terms, " & ")
}

// usageShards is how many alert_usage rows the sizes are summed in; a
// transaction adds to one at random, so replicas rarely wait for each
// other on it.
const usageShards = 16

// addUsage adds bytes to the history's usage.
func addUsage(ctx context.Context, tx *sql.Tx, q func(string) string, bytes int64) error {
	_, err := tx.ExecContext(ctx, q(`INSERT INTO alert_usage (shard, bytes) VALUES (?, ?)
		ON CONFLICT (shard) DO UPDATE SET bytes = alert_usage.bytes + excluded.bytes`), rand.IntN(usageShards), bytes)
	if err != nil {
		return fmt.Errorf("history: usage: %w", err)
	}
	return nil
}

// rowSize estimates what an alert takes in the database: its row (the
// output line twice, as text and as words), its field rows (fieldRows:
// name, value, id for each) and their index entries, with per-row
// overheads fitted on PostgreSQL 15 (TestPostgres/SizeEstimate checks it
// stays within a factor 2 of the tables' size).
func rowSize(a *Alert, jsonLen int, fieldRows []any) int64 {
	n := 350 + 2*len(a.UUID) + 2*len(a.Rule) + len(a.Source) + len(a.Hostname) + len(a.Finding) + len(a.FindingStatus) +
		jsonLen + 2*len(a.Output)
	for i := 0; i+1 < len(fieldRows); i += 3 {
		n += 130 + 2*(len(fieldRows[i].(string))+len(fieldRows[i+1].(string)))
	}
	return int64(n)
}
