package pgtest

import (
	"context"
	"database/sql"
	"testing"
)

func TestStartAndQuery(t *testing.T) {
	s := Start(t)
	db, err := sql.Open("pgx", s.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT 1 + 1").Scan(&n); err != nil || n != 2 {
		t.Fatalf("SELECT 1 + 1 = %d, %v", n, err)
	}
}
