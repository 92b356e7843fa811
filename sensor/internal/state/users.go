package state

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// userDB holds the users and groups of one root filesystem (the host's or a
// container's), parsed from etc/passwd and etc/group.
type userDB struct {
	users  map[uint32]*event.User
	groups map[uint32]*event.Group
}

// loadUserDB reads root/etc/passwd and root/etc/group. Missing files give an
// empty database; malformed lines are skipped.
func loadUserDB(root string) (*userDB, error) {
	db := &userDB{users: map[uint32]*event.User{}, groups: map[uint32]*event.Group{}}
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

// parsePasswd parses passwd(5) lines "name:x:uid:gid:gecos:home:shell". The
// first entry for a uid wins, as getpwuid does.
func parsePasswd(data []byte) map[uint32]*event.User {
	out := map[uint32]*event.User{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 7 {
			continue
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := out[uint32(uid)]; dup {
			continue
		}
		out[uint32(uid)] = &event.User{UID: uint32(uid), Name: f[0], HomeDir: f[5], Shell: f[6]}
	}
	return out
}

// parseGroup parses group(5) lines "name:x:gid:members".
func parseGroup(data []byte) map[uint32]*event.Group {
	out := map[uint32]*event.Group{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 3 {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := out[uint32(gid)]; dup {
			continue
		}
		out[uint32(gid)] = &event.Group{GID: uint32(gid), Name: f[0]}
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
