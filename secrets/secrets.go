package secrets

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/pkg/errors"
)

// Kind is a kind of secret.
type Kind string

// The kinds of secrets found.
const (
	PrivateKey     Kind = "PEM private key"
	OpenSSHKey     Kind = "OpenSSH private key"
	PGPKey         Kind = "PGP private key"
	AWSKey         Kind = "AWS access key id with its secret key"
	GCPKey         Kind = "GCP service-account key"
	GitHubToken    Kind = "GitHub token"
	GitLabToken    Kind = "GitLab token"
	SlackToken     Kind = "Slack token"
	EnvCredential  Kind = ".env credential"
	NetrcPassword  Kind = ".netrc password"
	PgpassPassword Kind = ".pgpass password"
)

// Finding is one secret: where it is and what it is, not what it says.
type Finding struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	Kind Kind   `json:"kind"`
	// Detail says more without the secret: the key type ("RSA"), or the
	// variable a .env file sets ("API_KEY").
	Detail string `json:"detail,omitempty"`
	offset int64  // in the file, until the line is known
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s:%d: %s", f.Path, f.Line, f.Kind)
	if f.Detail != "" {
		s += " (" + f.Detail + ")"
	}
	return s
}

// Scanner scans files; it keeps its buffer from one file to the next.
// It is not safe for concurrent use: give each goroutine its own.
type Scanner struct {
	buf   []byte
	block int // bytes read at a time (default: blockSize); tests make it small
}

const (
	// blockSize is read at a time; an anchor is looked at in a window
	// of ctx bytes on each side.
	blockSize = 1 << 20
	ctx       = 4 << 10
	// maxNamed bounds what is read of a credential file found by name.
	maxNamed = 1 << 20
)

// Scan reads r whole and returns what it holds; name is the path the
// findings give, and its base name says whether the file is a .env,
// .netrc or .pgpass file. r is read a second time, from its start, only
// when there are findings, to count their lines.
func (s *Scanner) Scan(r io.ReadSeeker, name string) ([]Finding, error) {
	var found []Finding
	if kind := namedKind(name); kind != "" {
		data, err := io.ReadAll(io.LimitReader(r, maxNamed))
		if err != nil {
			return nil, errors.Wrapf(err, "reading %s", name)
		}
		found = scanNamed(data, name, kind)
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, errors.Wrapf(err, "reading %s", name)
		}
	}
	block := s.block
	if block <= 0 {
		block = blockSize
	}
	if cap(s.buf) != block+2*ctx {
		s.buf = make([]byte, 0, block+2*ctx)
	}
	buf := s.buf[:0]
	var base int64 // the file offset of buf[0]
	resume := 0    // anchors before it were looked at with the last block
	for eof := false; !eof; {
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			eof = true
		case err != nil:
			return nil, errors.Wrapf(err, "reading %s", name)
		}
		limit := len(buf)
		if !eof {
			limit -= ctx // anchors after it are looked at with the next block
		}
		for _, f := range scanBlock(buf, resume, limit) {
			f.Path, f.offset = name, base+int64(f.offset)
			found = append(found, f)
		}
		if eof {
			break
		}
		// keep ctx bytes before limit and what follows it
		keep := limit - ctx
		copy(buf, buf[keep:])
		buf = buf[:len(buf)-keep]
		base += int64(keep)
		resume = ctx
	}
	s.buf = buf[:0]
	if len(found) == 0 {
		return nil, nil
	}
	if err := lineNumbers(r, found, name); err != nil {
		return nil, err
	}
	return dedupe(found), nil
}

// dedupe drops a finding of a credential file's line when the content
// scan found something more precise on it (a token in a .env file).
func dedupe(found []Finding) []Finding {
	byContent := map[int]bool{}
	for _, f := range found {
		if f.offset >= 0 {
			byContent[f.Line] = true
		}
	}
	out := found[:0]
	for _, f := range found {
		if f.offset < 0 && byContent[f.Line] {
			continue
		}
		out = append(out, f)
	}
	return out
}

// ScanBytes is Scan for a file held in memory.
func (s *Scanner) ScanBytes(data []byte, name string) []Finding {
	found, _ := s.Scan(bytes.NewReader(data), name) // a bytes.Reader never fails
	return found
}

// lineNumbers sets the Line of findings that have an offset (the others
// have theirs) by counting newlines from the start of r, and sorts them.
func lineNumbers(r io.ReadSeeker, found []Finding, name string) error {
	sort.SliceStable(found, func(i, j int) bool { return found[i].offset < found[j].offset })
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return errors.Wrapf(err, "reading %s", name)
	}
	buf := make([]byte, 64<<10)
	var pos int64
	line := 1
	i := 0
	for i < len(found) && found[i].Line > 0 {
		i++
	}
	for i < len(found) {
		n, err := r.Read(buf)
		chunk := buf[:n]
		for i < len(found) && (found[i].Line > 0 || found[i].offset < pos+int64(n)) {
			if found[i].Line == 0 {
				found[i].Line = line + bytes.Count(chunk[:found[i].offset-pos], []byte{'\n'})
			}
			i++
		}
		line += bytes.Count(chunk, []byte{'\n'})
		pos += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return errors.Wrapf(err, "reading %s", name)
		}
	}
	for ; i < len(found); i++ { // past the end: the file shrank
		if found[i].Line == 0 {
			found[i].Line = line
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].Line < found[j].Line })
	return nil
}

// namedKind says which credential file a path's name makes it.
func namedKind(name string) Kind {
	base := path.Base(name)
	switch {
	case base == ".env" || strings.HasPrefix(base, ".env.") || strings.HasSuffix(base, ".env"):
		return EnvCredential
	case base == ".netrc" || base == "_netrc":
		return NetrcPassword
	case base == ".pgpass" || base == "pgpass.conf":
		return PgpassPassword
	}
	return ""
}
