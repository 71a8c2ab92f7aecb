package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n# a comment\napp:x:1234:2345::/home/app:/bin/sh\nbad:x:zz:1::/:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nappgroup:x:2345:\nextra:x:2346:app,other\nwheel:x:10:root\n"), 0o644)
	for _, tc := range []struct {
		spec string
		want User
		err  bool
	}{
		{"", User{UID: 0, GID: 0, Groups: []uint32{0, 10}, Home: "/root"}, false},
		{"root", User{UID: 0, GID: 0, Groups: []uint32{0, 10}, Home: "/root"}, false},
		{"app", User{UID: 1234, GID: 2345, Groups: []uint32{2345, 2346}, Home: "/home/app"}, false},
		{"1234", User{UID: 1234, GID: 2345, Groups: []uint32{2345, 2346}, Home: "/home/app"}, false},
		{"app:extra", User{UID: 1234, GID: 2346, Groups: []uint32{2346}, Home: "/home/app"}, false},
		{"app:99", User{UID: 1234, GID: 99, Groups: []uint32{99}, Home: "/home/app"}, false},
		{"4000", User{UID: 4000, GID: 0, Groups: []uint32{0}}, false},
		{"4000:4001", User{UID: 4000, GID: 4001, Groups: []uint32{4001}}, false},
		{"nobody", User{}, true},
		{"app:nogroup", User{}, true},
		{"bad", User{}, true},
	} {
		got, err := ResolveUser(root, tc.spec)
		if (err != nil) != tc.err {
			t.Errorf("ResolveUser(%q): error %v, want error %v", tc.spec, err, tc.err)
			continue
		}
		if !tc.err && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ResolveUser(%q) = %+v, want %+v", tc.spec, got, tc.want)
		}
	}
}

// TestResolveUserStaysInRoot: an /etc/passwd that is a symlink to the
// host's is read inside the root (and is then missing there).
func TestResolveUserStaysInRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.Symlink("/etc/passwd", filepath.Join(root, "etc/passwd"))
	if _, err := ResolveUser(root, "root"); err == nil {
		t.Error("a name was found through a link out of the root")
	}
}
