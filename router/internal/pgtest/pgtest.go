// Package pgtest starts a real PostgreSQL server for tests: Debian's
// postgresql package (installed by `make test-deps-router`), a cluster made
// by initdb in a temporary directory, listening only on a unix socket in
// it. Run as root, the server runs as the postgres system user.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Server is one PostgreSQL cluster of a test.
type Server struct {
	bin  string // directory of initdb, pg_ctl
	dir  string // the cluster and its socket
	uid  *user.User
	dbs  atomic.Int32
	logf string
}

// bindir finds the newest /usr/lib/postgresql/*/bin with initdb.
func bindir() string {
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(ms, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(ms[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(ms[j]))))
		return vi > vj
	})
	if len(ms) == 0 {
		return ""
	}
	return filepath.Dir(ms[0])
}

// Start makes a cluster and starts it; it is stopped and removed at the
// end of the test. Without PostgreSQL installed the test is skipped with a
// message (make test installs it).
func Start(t testing.TB) *Server {
	t.Helper()
	bin := bindir()
	if bin == "" {
		t.Skip("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): `make test-deps-router` installs Debian's postgresql")
	}
	dir, err := os.MkdirTemp("", "lookout-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{bin: bin, dir: dir, logf: filepath.Join(dir, "server.log")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the postgres system user (Debian's postgresql package makes it): %v", err)
		}
		s.uid = u
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if err := s.run("initdb", "-D", s.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		t.Fatalf("initdb: %v", err)
	}
	s.Start(t)
	return s
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) run(name string, args ...string) error {
	cmdPath := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.uid != nil {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", cmdPath}, args...)...)
	} else {
		cmd = exec.Command(cmdPath, args...)
	}
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out)
	}
	return nil
}

// Start starts the server (again, after Stop) and waits until it answers.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories='%s' -c fsync=off -c max_connections=100", s.dir)
	if err := s.run("pg_ctl", "-D", s.data(), "-l", s.logf, "-o", opts, "-w", "-t", "120", "start"); err != nil {
		log, _ := os.ReadFile(s.logf)
		t.Fatalf("start postgres: %v\n%s", err, log)
	}
}

// Stop stops the server at once (connections are cut).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.run("pg_ctl", "-D", s.data(), "-m", "fast", "-w", "-t", "120", "stop"); err != nil {
		t.Fatalf("stop postgres: %v", err)
	}
}

// DSN is a connection string to database db on the server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("host=%s port=5432 user=postgres dbname=%s sslmode=disable connect_timeout=5", s.dir, db)
}

// NewDB creates an empty database and returns its DSN.
func (s *Server) NewDB(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", s.dbs.Add(1))
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return s.DSN(name)
}
