package state

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// userDB holds the users and groups of one root filesystem (the host's or a
// container's), parsed from etc/passwd and etc/group.
type userDB struct {
	users  map[uint32]*event.User
	groups map[uint32]*event.Group

	root      string
	stamp     fileStamp // of etc/passwd and etc/group when read
	checkedAt int64     // event time of the last change check
}

// fileStamp identifies a version of the two files (mtime and size).
type fileStamp struct {
	passwdMod, groupMod   int64
	passwdSize, groupSize int64
}

// userRecheck is how often (event time) a lookup miss may re-check the
// files for changes (a user added after the sensor started).
const userRecheck = int64(10 * time.Second)

// loadUserDB reads root/etc/passwd and root/etc/group. Missing files give an
// empty database; malformed lines are skipped.
func loadUserDB(root string) (*userDB, error) {
	db := &userDB{users: map[uint32]*event.User{}, groups: map[uint32]*event.Group{}, root: root}
	db.stamp = stampOf(root)
	if data, err := os.ReadFile(root + "/etc/passwd"); err == nil {
		db.users = parsePasswd(data)
	} else if !os.IsNotExist(err) {
		return db, fmt.Errorf("read passwd: %w", err)
	}
	if data, err := os.ReadFile(root + "/etc/group"); err == nil {
		db.groups = parseGroup(data)
	} else if !os.IsNotExist(err) {
		return db, fmt.Errorf("read group: %w", err)
	}
	return db, nil
}

func stampOf(root string) fileStamp {
	var s fileStamp
	if fi, err := os.Stat(root + "/etc/passwd"); err == nil {
		s.passwdMod, s.passwdSize = fi.ModTime().UnixNano(), fi.Size()
	}
	if fi, err := os.Stat(root + "/etc/group"); err == nil {
		s.groupMod, s.groupSize = fi.ModTime().UnixNano(), fi.Size()
	}
	return s
}

// refresh re-reads the files when they changed, at most once per
// userRecheck of event time; it reports whether the tables were replaced.
func (db *userDB) refresh(now int64) bool {
	if db == nil || now-db.checkedAt < userRecheck {
		return false
	}
	db.checkedAt = now
	if _, err := os.Stat(db.root + "/etc"); err != nil {
		return false // a container root whose process is gone
	}
	if stampOf(db.root) == db.stamp {
		return false
	}
	fresh, err := loadUserDB(db.root)
	if err != nil {
		return false
	}
	db.users, db.groups, db.stamp = fresh.users, fresh.groups, fresh.stamp
	return true
}

// userAt returns the user for uid, re-reading changed files on a miss.
func (db *userDB) userAt(uid uint32, now int64) *event.User {
	u := db.user(uid)
	if u == nil && db.refresh(now) {
		u = db.user(uid)
	}
	return u
}

// groupAt returns the group for gid, re-reading changed files on a miss.
func (db *userDB) groupAt(gid uint32, now int64) *event.Group {
	g := db.group(gid)
	if g == nil && db.refresh(now) {
		g = db.group(gid)
	}
	return g
}

// parsePasswd parses passwd(5) lines "name:x:uid:gid:gecos:home:shell". The
// first entry for a uid wins, as getpwuid does.
func parsePasswd(data []byte) map[uint32]*event.User {
	return parseIDFile(data, 7, func(uid uint32, f []string) *event.User {
		return &event.User{UID: uid, Name: f[0], HomeDir: f[5], Shell: f[6]}
	})
}

// parseGroup parses group(5) lines "name:x:gid:members". The first entry
// for a gid wins, as getgrgid does.
func parseGroup(data []byte) map[uint32]*event.Group {
	return parseIDFile(data, 3, func(gid uint32, f []string) *event.Group {
		return &event.Group{GID: gid, Name: f[0]}
	})
}

// parseIDFile parses the colon-separated lines of passwd(5) and group(5),
// whose third field is the numeric id, skipping comments, short lines and
// bad ids, and keeping the first entry for each id.
func parseIDFile[T any](data []byte, minFields int, entry func(id uint32, f []string) T) map[uint32]T {
	out := map[uint32]T{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < minFields {
			continue
		}
		id, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := out[uint32(id)]; dup {
			continue
		}
		out[uint32(id)] = entry(uint32(id), f)
	}
	return out
}

// user returns the user for uid, or a nameless one (Falco renders the uid's
// name as "<NA>" when unknown; the engine decides how to render nil).
func (db *userDB) user(uid uint32) *event.User {
	if db == nil {
		return nil
	}
	return db.users[uid]
}

func (db *userDB) group(gid uint32) *event.Group {
	if db == nil {
		return nil
	}
	return db.groups[gid]
}
