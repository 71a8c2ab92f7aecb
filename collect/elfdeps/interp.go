package elfdeps

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"strings"

	"github.com/pkg/errors"
)

// Kind of executable.
type Kind int

// Kinds of executable files.
const (
	Other  Kind = iota // neither ELF nor a script
	ELF                // an ELF file
	Script             // a file starting with "#!"
)

// Exe is what an executable needs to start.
type Exe struct {
	Kind Kind
	// Interp is the ELF program interpreter, or the script's interpreter.
	Interp string
	// Arg is the optional argument on a "#!" line ("python3" in
	// "#!/usr/bin/env python3").
	Arg string
}

// MaxShebang is the longest "#!" line the kernel reads (BINPRM_BUF_SIZE).
const MaxShebang = 256

// Inspect reads the file at path (a host path) and says how it starts.
func Inspect(path string) (Exe, error) {
	f, err := os.Open(path)
	if err != nil {
		return Exe{}, errors.Wrap(err, "reading executable")
	}
	defer f.Close()
	var head [MaxShebang]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Exe{}, errors.Wrapf(err, "reading %s", path)
	}
	b := head[:n]
	switch {
	case bytes.HasPrefix(b, []byte("#!")):
		interp, arg := parseShebang(b[2:])
		if interp == "" {
			return Exe{}, errors.Errorf("%s: empty #! line", path)
		}
		return Exe{Kind: Script, Interp: interp, Arg: arg}, nil
	case bytes.HasPrefix(b, []byte(elf.ELFMAG)):
		interp, err := Interpreter(f)
		if err != nil {
			return Exe{}, errors.Wrapf(err, "reading ELF headers of %s", path)
		}
		return Exe{Kind: ELF, Interp: interp}, nil
	}
	return Exe{}, nil
}

// parseShebang splits a "#!" line as the kernel does: the interpreter is
// the first word, the rest (trimmed) is one optional argument.
func parseShebang(b []byte) (string, string) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	s := strings.Trim(string(b), " \t\r")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.Trim(s[i:], " \t\r")
}

// Interpreter returns the PT_INTERP path of an ELF file, "" for a static
// binary.
func Interpreter(r io.ReaderAt) (string, error) {
	ef, err := elf.NewFile(r)
	if err != nil {
		return "", err
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		if p.Filesz > 4096 {
			return "", errors.Errorf("PT_INTERP of %d bytes is too long", p.Filesz)
		}
		buf := make([]byte, p.Filesz)
		if _, err := p.ReadAt(buf, 0); err != nil && err != io.EOF {
			return "", errors.Wrap(err, "reading PT_INTERP")
		}
		return string(bytes.TrimRight(buf, "\x00")), nil
	}
	return "", nil
}
