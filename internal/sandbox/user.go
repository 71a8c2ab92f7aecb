package sandbox

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// User is who a container's command runs as: a uid, a gid, the
// supplementary groups and the home directory (from the image's
// /etc/passwd and /etc/group).
type User struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups, the primary one first
	Home     string   // "" when the user is not in /etc/passwd
}

// ResolveUser reads an image's USER (NAME, UID, NAME:GROUP, UID:GID, ...)
// through root's /etc/passwd and /etc/group, as a container runtime
// does: a name must be in /etc/passwd; a number need not be (its group
// is then 0); the supplementary groups are the groups of /etc/group that
// list the user's name. The files are read inside root (symlinks do not
// leave it).
func ResolveUser(root, spec string) (User, error) {
	res, err := rootpath.New(root)
	if err != nil {
		return User{}, err
	}
	passwd := readColonFile(res, "/etc/passwd")
	groups := readColonFile(res, "/etc/group")
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	u := User{}
	name := ""
	if n, err := parseID(userPart); err == nil {
		u.UID = n
		for _, f := range passwd {
			if len(f) >= 6 && f[2] == userPart {
				name, u.Home = f[0], f[5]
				if g, err := parseID(f[3]); err == nil {
					u.GID = g
				}
				break
			}
		}
	} else {
		found := false
		for _, f := range passwd {
			if len(f) >= 6 && f[0] == userPart {
				uid, err1 := parseID(f[2])
				gid, err2 := parseID(f[3])
				if err1 != nil || err2 != nil {
					return User{}, errors.Errorf("user %q: its /etc/passwd line in the image has no valid uid and gid", userPart)
				}
				u.UID, u.GID, u.Home, name, found = uid, gid, f[5], f[0], true
				break
			}
		}
		if !found {
			return User{}, errors.Errorf("user %q is not in the image's /etc/passwd (give a number, or add the user to the image)", userPart)
		}
	}
	if hasGroup {
		if g, err := parseID(groupPart); err == nil {
			u.GID = g
		} else {
			found := false
			for _, f := range groups {
				if len(f) >= 3 && f[0] == groupPart {
					if u.GID, err = parseID(f[2]); err != nil {
						return User{}, errors.Errorf("group %q: its /etc/group line in the image has no valid gid", groupPart)
					}
					found = true
					break
				}
			}
			if !found {
				return User{}, errors.Errorf("group %q is not in the image's /etc/group", groupPart)
			}
		}
	}
	u.Groups = []uint32{u.GID}
	if name != "" && !hasGroup {
		for _, f := range groups {
			if len(f) < 4 {
				continue
			}
			for _, m := range strings.Split(f[3], ",") {
				if m == name {
					if g, err := parseID(f[2]); err == nil && g != u.GID {
						u.Groups = append(u.Groups, g)
					}
				}
			}
		}
	}
	return u, nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

// readColonFile reads /etc/passwd or /etc/group inside the root: one
// record a line, fields split at ':'. A missing file has no records.
func readColonFile(res *rootpath.Resolver, p string) [][]string {
	canon, err := res.Canonical(p)
	if err != nil {
		return nil
	}
	f, err := os.Open(res.HostPath(canon))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
}
