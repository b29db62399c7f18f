package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// dropPrivileges is -Z USER: once the capture is open, tcpwatch running as
// root becomes USER, with USER's group and supplementary groups, as
// tcpdump does (initgroups, setgid, setuid). Go applies each of these
// calls to every thread of the process. Not running as root, it does
// nothing, as tcpdump does.
func dropPrivileges(name string) error {
	if name == "" || os.Geteuid() != 0 && os.Getuid() != 0 {
		return nil
	}
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return fmt.Errorf("-Z %q: no such user", name)
	}
	if err != nil {
		return fmt.Errorf("-Z %q: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("-Z %q: uid %q, gid %q: not numbers", name, u.Uid, u.Gid)
	}
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil && g != gid {
				groups = append(groups, g)
			}
		}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("-Z %q: set groups: %w", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("-Z %q: set gid %d: %w", name, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("-Z %q: set uid %d: %w", name, uid, err)
	}
	return nil
}
