package fields

import (
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// maxAncestors bounds ancestor walks (and guards against parent cycles).
const maxAncestors = 64

// ancestor returns the n-th ancestor of p (0 = p itself), or nil.
func ancestor(p *event.Process, n int) *event.Process {
	for ; n > 0 && p != nil; n-- {
		p = p.Parent
	}
	return p
}

// procStr is a string field of a process, with its parent (p*) and
// ancestor (a*[N]) variants when pname/aname are given.
func (t *Table) procStr(name, pname, aname, desc string, get func(p *event.Process) string) {
	one := func(p *event.Process, dst []Value) []Value { return nonEmpty(dst, get(p)) }
	t.str(name, desc, procField(one))
	if pname != "" {
		t.str(pname, desc+", of the parent process", procField(func(p *event.Process, dst []Value) []Value {
			if p.Parent == nil {
				return dst
			}
			return one(p.Parent, dst)
		}))
	}
	if aname != "" {
		t.add(&def{name: aname, kind: KindString, argDoc: "[N] optional",
			desc: desc + ", of the N-th ancestor ([0] is the process, [1] the parent); without [N], of any ancestor",
			build: func(arg string) (extractFn, bool, error) {
				if arg == "" {
					return procField(func(p *event.Process, dst []Value) []Value {
						a := p.Parent
						for i := 0; i < maxAncestors && a != nil; i++ {
							dst = one(a, dst)
							a = a.Parent
						}
						return dst
					}), true, nil
				}
				n, err := parseIndex(arg)
				if err != nil {
					return nil, false, err
				}
				return procField(func(p *event.Process, dst []Value) []Value {
					if a := ancestor(p, n); a != nil {
						return one(a, dst)
					}
					return dst
				}), false, nil
			}})
	}
}

func (t *Table) procInt(name, desc string, get func(p *event.Process) int64) {
	t.typed(name, KindInt, desc, procField(func(p *event.Process, dst []Value) []Value { return append(dst, iv(get(p))) }))
}

func (t *Table) procBool(name, desc string, get func(p *event.Process) bool) {
	t.typed(name, KindBool, desc, procField(func(p *event.Process, dst []Value) []Value { return append(dst, bv(get(p))) }))
}

func (t *Table) addProc() {
	t.procStr("proc.name", "proc.pname", "proc.aname", "process name (comm, or argv[0]'s basename after exec)", func(p *event.Process) string { return p.Name })
	t.procStr("proc.exe", "proc.pexe", "proc.aexe", "first command-line argument (argv[0])", func(p *event.Process) string { return p.Exe })
	t.procStr("proc.exepath", "proc.pexepath", "proc.aexepath", "full path of the executable", func(p *event.Process) string { return p.ExePath })
	t.procStr("proc.cmdline", "proc.pcmdline", "proc.acmdline", "name and arguments, space-separated", (*event.Process).Cmdline)
	// proc.args is "" (not unavailable) for a process without arguments,
	// as in Falco, so that proc.args = "" matches it.
	t.str("proc.args", "arguments (without argv[0]), space-separated; \"\" when there are none", procField(func(p *event.Process, dst []Value) []Value {
		return append(dst, sv(strings.Join(p.Args, " ")))
	}))
	t.procStr("proc.cwd", "", "", "current working directory, with a trailing slash", func(p *event.Process) string { return p.Cwd })
	t.procStr("proc.sname", "", "", "name of the session leader (the ancestor whose pid is the session id)", func(p *event.Process) string {
		for a, i := p, 0; a != nil && i <= maxAncestors; a, i = a.Parent, i+1 {
			if a.PID == p.SID {
				return a.Name
			}
		}
		return ""
	})
	t.add(&def{name: "proc.env", kind: KindString, argDoc: "[NAME] optional",
		desc: "environment, space-separated KEY=VALUE; with [NAME], the value of that variable",
		build: func(arg string) (extractFn, bool, error) {
			if arg == "" {
				return procField(func(p *event.Process, dst []Value) []Value {
					return nonEmpty(dst, strings.Join(p.Env, " "))
				}), false, nil
			}
			return procField(func(p *event.Process, dst []Value) []Value {
				for _, kv := range p.Env {
					if len(kv) > len(arg) && kv[len(arg)] == '=' && kv[:len(arg)] == arg {
						return append(dst, sv(kv[len(arg)+1:]))
					}
				}
				return dst
			}), false, nil
		}})
	t.procInt("proc.pid", "process id (tgid)", func(p *event.Process) int64 { return p.PID })
	t.procInt("proc.ppid", "parent process id", func(p *event.Process) int64 { return p.PPID })
	t.procInt("proc.vpid", "process id in its own pid namespace", func(p *event.Process) int64 { return p.VPID })
	t.procInt("proc.sid", "session id", func(p *event.Process) int64 { return p.SID })
	t.procInt("proc.pgid", "process group id", func(p *event.Process) int64 { return p.PGID })
	t.procInt("proc.vpgid", "process group id in its pid namespace", func(p *event.Process) int64 { return p.VPGID })
	t.procInt("thread.tid", "thread id", func(p *event.Process) int64 { return p.TID })
	t.procInt("thread.vtid", "thread id in its pid namespace", func(p *event.Process) int64 { return p.VTID })
	t.add(&def{name: "proc.apid", kind: KindInt, argDoc: "[N] optional", desc: "pid of the N-th ancestor ([1] is the parent); without [N], of any ancestor",
		build: func(arg string) (extractFn, bool, error) {
			if arg == "" {
				return procField(func(p *event.Process, dst []Value) []Value {
					a := p.Parent
					for i := 0; i < maxAncestors && a != nil; i++ {
						dst = append(dst, iv(a.PID))
						a = a.Parent
					}
					return dst
				}), true, nil
			}
			n, err := parseIndex(arg)
			if err != nil {
				return nil, false, err
			}
			return procField(func(p *event.Process, dst []Value) []Value {
				if a := ancestor(p, n); a != nil {
					return append(dst, iv(a.PID))
				}
				return dst
			}), false, nil
		}})
	t.typed("proc.tty", KindUint, "controlling terminal device number, 0 if none", procField(func(p *event.Process, dst []Value) []Value {
		return append(dst, uv(uint64(p.TTY)))
	}))
	t.typed("proc.duration", KindRelTime, "ns since the process started", func(ev *event.Event, dst []Value) []Value {
		if ev.Proc == nil || ev.Proc.StartTS == 0 {
			return dst
		}
		return append(dst, rtv(ev.TS-ev.Proc.StartTS))
	})
	t.typed("proc.start_ts", KindAbsTime, "process start time (ns since the epoch)", procField(func(p *event.Process, dst []Value) []Value {
		if p.StartTS == 0 {
			return dst
		}
		return append(dst, atv(p.StartTS))
	}))
	t.typed("proc.exe_ino", KindUint, "inode of the executable", procField(func(p *event.Process, dst []Value) []Value {
		if p.ExeIno == 0 {
			return dst
		}
		return append(dst, uv(p.ExeIno))
	}))
	t.typed("proc.exe_ino.ctime", KindAbsTime, "status change time of the executable's inode", procField(func(p *event.Process, dst []Value) []Value {
		if p.ExeCtime == 0 {
			return dst
		}
		return append(dst, atv(p.ExeCtime))
	}))
	t.typed("proc.exe_ino.mtime", KindAbsTime, "modification time of the executable's inode", procField(func(p *event.Process, dst []Value) []Value {
		if p.ExeMtime == 0 {
			return dst
		}
		return append(dst, atv(p.ExeMtime))
	}))
	t.typed("proc.exe_ino.ctime_duration_proc_start", KindRelTime, "ns between the executable's ctime and the process start", procField(func(p *event.Process, dst []Value) []Value {
		if p.ExeCtime == 0 || p.StartTS == 0 {
			return dst
		}
		return append(dst, rtv(p.StartTS-p.ExeCtime))
	}))
	t.typed("proc.exe_ino.mtime_duration_proc_start", KindRelTime, "ns between the executable's mtime and the process start", procField(func(p *event.Process, dst []Value) []Value {
		if p.ExeMtime == 0 || p.StartTS == 0 {
			return dst
		}
		return append(dst, rtv(p.StartTS-p.ExeMtime))
	}))
	t.procBool("proc.is_exe_from_memfd", "the executable is a memfd (fileless execution)", func(p *event.Process) bool { return p.ExeMemfd })
	t.procBool("proc.is_exe_upper_layer", "the executable is in an overlayfs upper layer (added to the container)", func(p *event.Process) bool { return p.ExeUpper })
	t.procBool("proc.is_exe_lower_layer", "the executable is in an overlayfs lower layer (the image)", func(p *event.Process) bool { return p.ExeLower })
	t.procBool("proc.is_exe_writable", "the executable is writable by the process's user", func(p *event.Process) bool { return p.ExeWrite })
	t.procBool("proc.is_vpgid_leader", "the process leads its process group (in its pid namespace)", func(p *event.Process) bool { return p.IsVPGIDLeader })
	t.procBool("proc.is_sid_leader", "the process leads its session", func(p *event.Process) bool { return p.PID == p.SID })
	caps := func(name, desc string, get func(p *event.Process) uint64) {
		t.str(name, desc+", as space-separated CAP_* names", procField(func(p *event.Process, dst []Value) []Value {
			return append(dst, sv(CapNames(get(p))))
		}))
	}
	caps("thread.cap_effective", "effective capabilities", func(p *event.Process) uint64 { return p.CapEffective })
	caps("thread.cap_permitted", "permitted capabilities", func(p *event.Process) uint64 { return p.CapPermitted })
	caps("thread.cap_inheritable", "inheritable capabilities", func(p *event.Process) uint64 { return p.CapInheritable })
}

// addUser declares user.* and group.*.
func (t *Table) addUser() {
	t.typed("user.uid", KindUint, "effective user id", procField(func(p *event.Process, dst []Value) []Value {
		return append(dst, uv(uint64(p.UID)))
	}))
	t.typed("user.loginuid", KindInt, "audit login user id, -1 when unset", procField(func(p *event.Process, dst []Value) []Value {
		return append(dst, iv(p.LoginUID))
	}))
	usr := func(name, desc string, who func(p *event.Process) *event.User, get func(u *event.User) string) {
		t.str(name, desc, procField(func(p *event.Process, dst []Value) []Value {
			if u := who(p); u != nil {
				return nonEmpty(dst, get(u))
			}
			return dst
		}))
	}
	eff := func(p *event.Process) *event.User { return p.User }
	usr("user.name", "user name of the effective uid", eff, func(u *event.User) string { return u.Name })
	usr("user.homedir", "home directory of the user", eff, func(u *event.User) string { return u.HomeDir })
	usr("user.shell", "login shell of the user", eff, func(u *event.User) string { return u.Shell })
	usr("user.loginname", "user name of the login uid", func(p *event.Process) *event.User { return p.LoginUser }, func(u *event.User) string { return u.Name })
	t.typed("group.gid", KindUint, "effective group id", procField(func(p *event.Process, dst []Value) []Value {
		return append(dst, uv(uint64(p.GID)))
	}))
	t.str("group.name", "group name of the effective gid", procField(func(p *event.Process, dst []Value) []Value {
		if p.Group != nil {
			return nonEmpty(dst, p.Group.Name)
		}
		return dst
	}))
}
