package strace

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary logs to the parser: it must never panic, and
// every event it reports must name a path.
func FuzzParse(f *testing.F) {
	logs, _ := filepath.Glob(filepath.Join(samples, "*.log"))
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil || len(data) > 64<<10 {
			continue
		}
		f.Add(data)
	}
	f.Add([]byte("1 openat(AT_FDCWD</a\\74b>, \"x\", O_RDONLY) = 3</a<b/x>\n"))
	f.Add([]byte("1 clone(child_stack=NULL, flags=CLONE_FS|SIGCHLD) = 2\n2 chdir(\"..\") = 0\n2 openat(AT_FDCWD, \"x\", 0x241) = 3\n"))
	f.Add([]byte("10 vfork( <unfinished ...>\n11 chdir(\"/x\") = 0\n10 <... vfork resumed>) = 2 /* 11 in strace's PID NS */\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		unread := func(u Unread) {
			if u.Syscall == "" || u.Pid < 0 || u.UID < -1 {
				t.Fatalf("unread call without a syscall, or a bad pid or uid: %+v", u)
			}
		}
		p := NewParser(Options{Cwd: "/cwd", Failed: true, MaxLineBytes: 4096, Warn: func(error) {}, Unreadable: unread}, func(e Event) {
			if e.Path == "" || strings.Contains(e.Path, "0x") && strings.HasPrefix(e.Path, "/cwd/0x") {
				t.Fatalf("event without a path, or an address taken for one: %+v", e)
			}
		})
		_ = p.Parse(strings.NewReader(string(data)), "fuzz.log", -1)
	})
}

// FuzzUnquote: decoding never panics and never reads past the input.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a\\b"`, `"\\0012"`, `"\\x2f"`, `"x"...`, `"\\777"`, `"/usr/lib/x"`, `"a"b"`, `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, n, truncated, err := unquote(data)
		if err == nil && (n > len(data) || len(out) > len(data)) {
			t.Fatalf("consumed %d of %d bytes, produced %d", n, len(data), len(out))
		}
		// plainString is unquote's shortcut for a whole argument
		if plain, ok := plainString(data); ok && (err != nil || truncated || n != len(data) || string(plain) != string(out)) {
			t.Fatalf("plainString(%q) = %q, unquote gives %q, %d, %v, %v", data, plain, out, n, truncated, err)
		}
	})
}

// parseSerial is the plain loop: one line read, split and applied at a
// time. The pipelined Parse must give the same events and warnings.
func parseSerial(p *Parser, r io.Reader, name string, pid int) error {
	fs := p.begin(name)
	lr := newLineReader(r, p.opts.MaxLineBytes)
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		p.feed(lr, line, pid)
	}
	return p.end(fs, lr.n, lr.err)
}

// both parses data with Parse and with parseSerial and returns what each
// reported: events, warnings, error. Parse runs with its own blocks, and
// with tiny ones, whose edges fall inside lines and between the parts of
// a line cut by an "attached" notice; they must all agree.
func both(data []byte, opts Options) (pipelined, serial string) {
	run := func(parse func(*Parser) error) string {
		var b strings.Builder
		o := opts
		o.Warn = func(err error) { fmt.Fprintf(&b, "warn %v\n", err) }
		o.Unreadable = func(u Unread) { fmt.Fprintf(&b, "unread %+v\n", u) }
		o.UIDChange = func(f string, pid, uid int) { fmt.Fprintf(&b, "uid %s %d %d\n", f, pid, uid) }
		p := NewParser(o, func(e Event) { fmt.Fprintf(&b, "%+v\n", e) })
		err := parse(p)
		fmt.Fprintf(&b, "err %v\n", err)
		if c := p.Calls(); c != nil {
			fmt.Fprintf(&b, "calls %v unnamed %d skipped %d\n", c.Counts, c.Unnamed, c.Skipped)
		}
		return b.String()
	}
	serial = run(func(p *Parser) error { return parseSerial(p, bytes.NewReader(data), "f.log", -1) })
	for _, block := range []int{0, 7, 100} {
		out := run(func(p *Parser) error {
			p.block = block
			return p.Parse(bytes.NewReader(data), "f.log", -1)
		})
		if block == 0 {
			pipelined = out
		} else if out != serial {
			return fmt.Sprintf("(blocks of %d bytes)\n%s", block, out), serial
		}
	}
	blocks := []int{0, 100}
	if len(data) < 64<<10 { // (fuzz inputs) blocks of a few bytes: lines across several
		blocks = append(blocks, 1, 7)
	}
	for _, block := range blocks {
		out := run(func(p *Parser) error {
			p.block = block
			return p.parseAt(bytes.NewReader(data), "f.log", -1)
		})
		if out != serial {
			return fmt.Sprintf("(read at offsets, blocks of %d bytes)\n%s", block, out), serial
		}
	}
	return pipelined, serial
}

func TestPipelineMatchesSerial(t *testing.T) {
	logs, _ := filepath.Glob(filepath.Join(samples, "*.log"))
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		// big enough for several batches
		data = bytes.Repeat(data, 1+(5<<18)/(len(data)+1)) // more than one batch
		for _, o := range []Options{{Cwd: "/cwd", Failed: true}, {Cwd: "/cwd", FailedCalls: []string{"mkdir"}, MaxLineBytes: 300}} {
			a, b := both(data, o)
			if a != b {
				t.Errorf("%s (%+v): the pipelined parser differs from the serial one", l, o)
			}
		}
	}
}

func FuzzPipelineMatchesSerial(f *testing.F) {
	f.Add([]byte("1 openat(AT_FDCWD</a\\74b>, \"x\", O_RDONLY) = 3</a<b/x>\n"))
	f.Add([]byte("1 vfork(strace: Process 2 attached\n <unfinished ...>\n2 chdir(\"/x\") = 0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := both(data, Options{Cwd: "/cwd", FailedCalls: []string{"mkdir"}, MaxLineBytes: 64})
		if a != b {
			t.Fatalf("pipelined:\n%s\nserial:\n%s", a, b)
		}
	})
}

// TestPipelineLongLines: lines longer than a batch's arena, dropped (too
// long) or kept (a larger bound), and CR line ends, read the same by both.
func TestPipelineLongLines(t *testing.T) {
	long := `1 execve("/bin/x", ["x", "` + strings.Repeat("a", 3<<20/2) + `"], 0x1 /* 1 vars */) = 0`
	var b bytes.Buffer
	for i := 0; i < 3; i++ {
		b.WriteString("1 openat(AT_FDCWD, \"/etc/a\", O_RDONLY) = 3\r\n")
		b.WriteString(long + "\n")
		b.WriteString(strings.Repeat("2 openat(AT_FDCWD, \"/etc/b\", O_RDONLY) = 3\n", 9000))
	}
	b.WriteString(long) // the last line, without a newline
	for _, max := range []int{0, 4 << 20} {
		a, s := both(b.Bytes(), Options{Cwd: "/", MaxLineBytes: max})
		if a != s {
			t.Errorf("max %d: the pipelined parser differs:\n%.2000s\n----\n%.2000s", max, a, s)
		}
		if max == 0 && !strings.Contains(a, "line longer than") || max != 0 && strings.Contains(a, "line longer than") {
			t.Errorf("max %d: %.1000s", max, a)
		}
	}
}

// FuzzSplitCall: the fast path of splitLine reads a line as the general
// one does, whenever it takes it.
func FuzzSplitCall(f *testing.F) {
	f.Add([]byte(`123 openat(AT_FDCWD, "/etc/x", O_RDONLY) = 3 <0.000012>`))
	f.Add([]byte(`1 vfork( <unfinished ...>`))
	f.Add([]byte(`7 execve("/bin/true", ["true"], 0x1 /* 2 vars */ <pid changed to 5 ...>`))
	f.Add([]byte(`12 strace: Process 2 attached`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var fast rawLine
		if !splitCall(line, &fast) {
			return
		}
		slow, err := splitAny(line)
		if err != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %+v, general %+v (%v)", line, fast, slow, err)
		}
	})
}

// FuzzTrimSpace: trimSpace is bytes.TrimSpace.
func FuzzTrimSpace(f *testing.F) {
	for _, s := range []string{" O_RDONLY", "  x ", " \u00a0x", "\u0085", " ", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		if got, want := trimSpace(s), bytes.TrimSpace(s); !bytes.Equal(got, want) {
			t.Fatalf("%q: %q, want %q", s, got, want)
		}
	})
}

// TestCountingKeepsEvents: counting the calls in the parse (one pass for
// the paths and a seccomp profile) keeps every line from the early drop;
// the events, warnings and verdict stay those of a parse without it, the
// counts are CountCalls' on the same log, and the pipelined parser (with
// blocks cut inside lines) agrees with the serial one.
func TestCountingKeepsEvents(t *testing.T) {
	logs, _ := filepath.Glob(filepath.Join(samples, "*.log"))
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Cwd: "/cwd", FailedCalls: []string{"mkdir"}}
		plain, _ := both(data, o)
		o.Count = &Counting{}
		counted, serial := both(data, o)
		if counted != serial {
			t.Errorf("%s: counting, the pipelined parser differs from the serial one", l)
		}
		events, counts, _ := strings.Cut(counted, "calls ")
		if events != plain {
			t.Errorf("%s: counting changes the events", l)
		}
		c, err := CountCallsIn(bytes.NewReader(data), "f.log", CallOptions{})
		if err == nil && !strings.HasPrefix(counts, fmt.Sprint(c.Counts)) {
			t.Errorf("%s: counted %s, CountCalls %v", l, counts, c.Counts)
		}
	}
}
