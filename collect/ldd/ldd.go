package ldd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pkg/errors"
)

// Lib is one library line.
type Lib struct {
	Name string // the soname asked for ("libc.so.6"), or the path for the loader line
	Path string // where ldd found it
	Line int
}

// Binary is the ldd answer for one program.
type Binary struct {
	Path       string // from the "FILE:" header; "" when ldd was given one file
	Libs       []Lib
	Static     bool // "statically linked"
	NotDynamic bool // "not a dynamic executable"
}

// NotFoundError is a library ldd could not find.
type NotFoundError struct {
	File   string // the ldd output file
	Line   int
	Lib    string
	Binary string // "" when the output names no binary
}

func (e *NotFoundError) Error() string {
	bin := e.Binary
	if bin == "" {
		bin = "the binary ldd was run on"
	}
	return fmt.Sprintf("%s:%d: library %s needed by %s was not found by ldd (install it or set LD_LIBRARY_PATH before running ldd)", e.File, e.Line, e.Lib, bin)
}

// LineError is a line that is not ldd output.
type LineError struct {
	File string
	Line int
	Text string
}

func (e *LineError) Error() string {
	t := e.Text
	if len(t) > 80 {
		t = t[:80] + "..."
	}
	return fmt.Sprintf("%s:%d: expected ldd output such as 'libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)', got %q", e.File, e.Line, t)
}

// ParseFile parses one ldd output file.
func ParseFile(name string) ([]Binary, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, errors.Wrap(err, "opening ldd output")
	}
	defer f.Close()
	return Parse(f, name)
}

// MaxLineBytes bounds one line of ldd output.
const MaxLineBytes = 64 << 10

// Parse reads ldd output. It returns every binary it saw; the error, when
// not nil, lists every library that was not found and every line that is
// not ldd output (errors.Join of *NotFoundError and *LineError).
func Parse(r io.Reader, name string) ([]Binary, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), MaxLineBytes)
	var out []Binary
	var errs []error
	cur := -1
	ensure := func() *Binary {
		if cur < 0 {
			out = append(out, Binary{})
			cur = len(out) - 1
		}
		return &out[cur]
	}
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Text()
		if strings.IndexByte(raw, 0) >= 0 {
			errs = append(errs, &LineError{File: name, Line: n, Text: raw})
			continue
		}
		line := strings.TrimSpace(raw)
		switch {
		case line == "":
			continue
		case raw[0] != '\t' && raw[0] != ' ' && strings.HasSuffix(line, ":") && !strings.HasPrefix(line, "ldd:"):
			out = append(out, Binary{Path: strings.TrimSuffix(line, ":")})
			cur = len(out) - 1
			continue
		case line == "statically linked":
			ensure().Static = true
			continue
		case line == "not a dynamic executable":
			ensure().NotDynamic = true
			continue
		case strings.HasPrefix(line, "ldd: "):
			errs = append(errs, errors.Errorf("%s:%d: ldd failed: %s", name, n, strings.TrimPrefix(line, "ldd: ")))
			continue
		case strings.HasPrefix(line, "Error loading shared library "):
			// musl: Error loading shared library libfoo.so.1: No such file or directory (needed by /usr/bin/x)
			rest := strings.TrimPrefix(line, "Error loading shared library ")
			lib := rest
			if i := strings.Index(rest, ": "); i >= 0 {
				lib = rest[:i]
			}
			bin := ensure().Path
			if i := strings.LastIndex(rest, "(needed by "); i >= 0 {
				bin = strings.TrimSuffix(rest[i+len("(needed by "):], ")")
			}
			errs = append(errs, &NotFoundError{File: name, Line: n, Lib: lib, Binary: bin})
			continue
		case strings.HasPrefix(line, "Error relocating "):
			errs = append(errs, errors.Errorf("%s:%d: %s", name, n, line))
			continue
		}
		lib, ok := parseLib(line)
		if !ok {
			errs = append(errs, &LineError{File: name, Line: n, Text: raw})
			continue
		}
		lib.Line = n
		b := ensure()
		if lib.Path == "not found" {
			errs = append(errs, &NotFoundError{File: name, Line: n, Lib: lib.Name, Binary: b.Path})
			continue
		}
		if lib.Path == "" {
			continue // the vdso: provided by the kernel
		}
		b.Libs = append(b.Libs, lib)
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			err = errors.Errorf("%s:%d: line longer than %d bytes: not ldd output", name, n+1, MaxLineBytes)
		}
		errs = append(errs, errors.Wrapf(err, "reading %s", name))
	}
	if n == 0 {
		errs = append(errs, errors.Errorf("%s: empty ldd output", name))
	}
	return out, joinErrors(errs)
}

// parseLib parses "NAME => PATH (0xADDR)", "NAME => not found",
// "PATH (0xADDR)" and "NAME (0xADDR)" (the vdso).
func parseLib(line string) (Lib, bool) {
	addr := ""
	if i := strings.LastIndex(line, " (0x"); i >= 0 && strings.HasSuffix(line, ")") {
		addr = line[i+2 : len(line)-1]
		line = line[:i]
		if !isHexAddr(addr) {
			return Lib{}, false
		}
	}
	if i := strings.Index(line, " => "); i >= 0 || strings.HasSuffix(line, " =>") {
		var name, path string
		if i >= 0 {
			name, path = line[:i], strings.TrimSpace(line[i+4:])
		} else {
			name = strings.TrimSuffix(line, " =>")
		}
		if name == "" || strings.ContainsAny(name, " \t") {
			return Lib{}, false
		}
		if path == "not found" {
			return Lib{Name: name, Path: "not found"}, addr == ""
		}
		if path != "" && !strings.HasPrefix(path, "/") {
			return Lib{}, false
		}
		return Lib{Name: name, Path: path}, addr != "" || path != ""
	}
	if addr == "" || strings.ContainsAny(line, " \t") || line == "" {
		return Lib{}, false
	}
	if strings.HasPrefix(line, "/") {
		return Lib{Name: line, Path: line}, true // the dynamic loader
	}
	return Lib{Name: line}, true // linux-vdso.so.1, linux-gate.so.1
}

func isHexAddr(s string) bool {
	if !strings.HasPrefix(s, "0x") || len(s) < 3 {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.WithStack(joined(errs))
}

type joined []error

func (j joined) Error() string {
	var b strings.Builder
	for i, e := range j {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find each *NotFoundError.
func (j joined) Unwrap() []error { return j }
