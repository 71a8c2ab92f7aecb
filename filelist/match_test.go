package filelist

import "testing"

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"/tmp/**", "/tmp/x", true},
		{"/tmp/**", "/tmp/a/b/c", true},
		{"/tmp/**", "/tmp", false},
		{"/tmp", "/tmp", true},
		{"/tmp", "/tmp/a/b", true}, // under a matching directory
		{"/tmp", "/tmpx", false},
		{"/usr/share/doc", "/usr/share/doc/fortune-mod/README", true},
		{"**/*.pyc", "/usr/lib/python3/__pycache__/a.cpython-311.pyc", true},
		{"*.pyc", "/usr/lib/python3/a.pyc", true},
		{"*.pyc", "/usr/lib/python3/a.py", false},
		{"/usr/**/locale/**", "/usr/share/locale/de/LC_MESSAGES/x.mo", true},
		{"/usr/**/locale/**", "/usr/lib/locale/C.utf8/LC_CTYPE", true},
		{"/usr/**/locale/**", "/usr/share/locale", false},
		{"/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_rsa_key", true},
		{"/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_rsa_key.pub", false},
		{"/home/*/.ssh/**", "/home/alice/.ssh/id_ed25519", true},
		{"/home/*/.ssh/**", "/home/alice/.sshx/id", false},
		{".git", "/srv/app/.git/config", true},
		{"/a/[bc]d", "/a/cd", true},
		{"/a/?", "/a/bb", false},
		{"/x", "/", false},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		if got := p.Match(tt.path); got != tt.want {
			t.Errorf("%s matches %s = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
	for _, bad := range []string{"", "/", "/a/[b"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%q) accepted", bad)
		}
	}
}

func TestFilterIncludeBeatsExclude(t *testing.T) {
	pats, _ := ParsePatterns([]string{"/etc/**"})
	secrets, _ := ParsePatterns(SecretPatterns)
	f := &Filter{Exclude: pats, Secrets: secrets, Include: map[string]bool{"/etc/hosts": true, "/etc/shadow": true}}
	for p, want := range map[string]bool{"/etc/passwd": true, "/etc/hosts": false, "/etc/shadow": false, "/etc/gshadow": true, "/usr/bin/x": false, "/root/.ssh/id_rsa": true, "/root/.bashrc": false} {
		if got := f.Excluded(p); got != want {
			t.Errorf("Excluded(%s) = %v, want %v", p, got, want)
		}
	}
	if ex := f.excluded("/etc/gshadow"); ex == nil || !ex.Secret {
		t.Errorf("gshadow: %v", ex)
	}
}
