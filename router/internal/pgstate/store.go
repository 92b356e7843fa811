package pgstate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/lookout-sec/lookout/router/internal/noise"
)

// Buckets whose records carry a column of their own.
const (
	bucketFindings = "noise/findings"
	bucketSamples  = "noise/samples"
	bucketSilences = "noise/silences"
)

// Store is the noise stage's state in PostgreSQL (noise.Shared).
type Store struct {
	db  *sql.DB
	log *slog.Logger
}

var _ noise.Shared = (*Store)(nil)

// Options configures Open.
type Options struct {
	Logger *slog.Logger
	// MaxConns bounds the connections of this router (default 8).
	MaxConns int
}

// Open connects to the database named by dsn (a libpq URL or key=value
// string), applies the migrations it lacks, and refuses a newer schema.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	db, err := OpenDB(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, log: opts.Logger}, nil
}

// OpenDB connects a pool of opts.MaxConns connections to the database
// named by dsn and migrates it as Open does: the UI's history
// (router/internal/history) opens its own pool with it, so that its bulk
// writes and searches never take the connections ingest decides on.
func OpenDB(ctx context.Context, dsn string, opts Options) (*sql.DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 8
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres dsn: %w", err)
	}
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	if err := migrate(ctx, db, opts.Logger); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres schema: %w", err)
	}
	return db, nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// opTimeout bounds the calls of the noise.Store interface (which take no
// context: start-up loads and admin operations).
const opTimeout = 30 * time.Second

// Load calls fn for every record of bucket, in key order.
func (s *Store) Load(bucket string, fn func(key string, val []byte) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	recs, err := all(ctx, s.db, bucket)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(recs))
	for k := range recs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(k, recs[k]); err != nil {
			return err
		}
	}
	return nil
}

// Get returns one record, nil when absent.
func (s *Store) Get(bucket, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var val []byte
	var held int64
	err := s.db.QueryRowContext(ctx, `SELECT val, held_back FROM noise_records WHERE bucket = $1 AND key = $2`, bucket, key).Scan(&val, &held)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", bucket, key, err)
	}
	return withHeldBack(bucket, val, held), nil
}

// Update runs fn in a transaction of its own.
func (s *Store) Update(fn func(w noise.Writer) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	return s.Tx(ctx, func(tx noise.SharedTx) error { return fn(tx) })
}

// CountFindings counts the findings by status.
func (s *Store) CountFindings(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT convert_from(val, 'UTF8')::jsonb->>'status', count(*) FROM noise_records WHERE bucket = $1 GROUP BY 1`, bucketFindings)
	if err != nil {
		return nil, fmt.Errorf("count findings: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st sql.NullString
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st.String] += n
	}
	return out, rows.Err()
}

// maxAttempts bounds Tx's retries after deadlocks and serialization failures.
const maxAttempts = 5

// Tx runs fn in a transaction, again when PostgreSQL reports a deadlock
// (40P01) or a serialization failure (40001).
func (s *Store) Tx(ctx context.Context, fn func(tx noise.SharedTx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = s.tx(ctx, fn)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return err
		}
		s.log.Debug("state store: transaction retried", "attempt", attempt, "err", err)
	}
	return err
}

func (s *Store) tx(ctx context.Context, fn func(tx noise.SharedTx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{ctx: ctx, tx: sqlTx}
	if err := fn(t); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := t.flush(); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// all reads every record of bucket.
func all(ctx context.Context, q queryer, bucket string) (map[string][]byte, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, val, held_back FROM noise_records WHERE bucket = $1`, bucket)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", bucket, err)
	}
	return scan(rows, bucket)
}

func scan(rows *sql.Rows, bucket string) (map[string][]byte, error) {
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var k string
		var v []byte
		var held int64
		if err := rows.Scan(&k, &v, &held); err != nil {
			return nil, fmt.Errorf("read %s: %w", bucket, err)
		}
		out[k] = withHeldBack(bucket, v, held)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", bucket, err)
	}
	return out, nil
}

// withHeldBack sets a silence record's held_back from its column, which
// every replica increments (the record's own value is not kept up to date).
func withHeldBack(bucket string, val []byte, held int64) []byte {
	if bucket != bucketSilences {
		return val
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(val, &m) != nil {
		return val // loadBucket logs and skips it
	}
	m["held_back"] = json.RawMessage(fmt.Sprint(held))
	b, err := json.Marshal(m)
	if err != nil {
		return val
	}
	return b
}
