package strace

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestJunkRefused: a file in which no line, or only a small share of
// the lines, is strace output is refused with an error that names the
// file and its first bad line; a log with a few bad lines among many
// good ones is read with warnings. Serial and pipelined parsers agree.
func TestJunkRefused(t *testing.T) {
	good := `1 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3` + "\n"
	rng := rand.New(rand.NewSource(17))
	random := make([]byte, 500<<10)
	rng.Read(random)
	printable := make([]byte, 64<<10)
	for i := range printable {
		printable[i] = " abcdefghijklmnopqrstuvwxyz(),=\"\n"[rng.Intn(33)]
	}
	tests := []struct {
		name     string
		data     string
		wantLine int // the bad line the error names; 0: accepted
	}{
		{"a name and a parenthesis", "hello\nmq(\n", 1},
		{"unknown syscalls only", "1 mq(1) = 0\n1 frobnicate(\"/x\") = 0\n", 1},
		{"random binary", string(random), 1},
		{"random printable text", string(printable), 1},
		{"a README", "# Title\n\nSome text (with parentheses) = nice.\nMore text.\n", 1},
		{"a few good lines in junk", strings.Repeat("junk\n", 30) + strings.Repeat(good, 5), 1},
		{"a few bad lines in a log", strings.Repeat(good, 30) + "junk\n" + strings.Repeat(good, 5) + "1 openat(AT_FDCWD, \"/trunc", 0},
		{"a log", strings.Repeat(good, 3), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := both([]byte(tt.data), Options{Cwd: "/"})
			if a != b {
				t.Fatalf("pipelined:\n%s\nserial:\n%s", a, b)
			}
			p := NewParser(Options{}, func(Event) {})
			err := p.Parse(strings.NewReader(tt.data), "in.log", -1)
			if tt.wantLine == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var je *JunkError
			if !errors.As(err, &je) || !errors.Is(err, ErrNotStrace) {
				t.Fatalf("err = %v, want a *JunkError", err)
			}
			if je.File != "in.log" || je.First == nil || je.First.Line != tt.wantLine || !strings.Contains(err.Error(), "in.log") {
				t.Errorf("err = %v, want file in.log, line %d", err, tt.wantLine)
			}
		})
	}
}

// TestRealLogAccepted: a real strace -o log of a program is accepted,
// and so is one with the program's output mixed in, as long as strace
// output is not a small share of it.
func TestRealLogAccepted(t *testing.T) {
	testenv.Need(t, "strace", "ls")
	dir := t.TempDir()
	log := filepath.Join(dir, "ls.log")
	if out, err := exec.Command("strace", "-f", "-o", log, "ls", "/").CombinedOutput(); err != nil {
		t.Fatalf("strace: %v\n%s", err, out)
	}
	if err := ParseFiles([]string{log}, Options{}, func(Event) {}); err != nil {
		t.Errorf("a real log: %v", err)
	}
	// the program's output among strace's lines (a log written to a
	// terminal or a pipe shared with the program): one line in three
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var mixed bytes.Buffer
	for i, l := range strings.SplitAfter(string(data), "\n") {
		mixed.WriteString(l)
		if i%2 == 1 {
			mixed.WriteString("ls: some message of the program\n")
		}
	}
	name := filepath.Join(dir, "mixed.log")
	os.WriteFile(name, mixed.Bytes(), 0o644)
	if err := ParseFiles([]string{name}, Options{Warn: func(error) {}}, func(Event) {}); err != nil {
		t.Errorf("strace's lines with the program's: %v", err)
	}
}
