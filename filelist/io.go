package filelist

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/pkg/errors"
)

// WriteText writes one absolute path per line, sorted: every entry but
// the directories that are only parents of other entries, so that
// `tar --no-recursion -T` and `zip -@` get exactly what is needed. Paths
// with a newline cannot be written in this format: they are reported in
// the error (use JSON for them) after the rest is written.
func WriteText(w io.Writer, l *List) error {
	bw := bufio.NewWriter(w)
	var bad []string
	for _, e := range l.Entries {
		if e.Kind == Dir && onlyParent(e) {
			continue
		}
		if strings.ContainsAny(e.Path, "\n") {
			bad = append(bad, fmt.Sprintf("%q", e.Path))
			continue
		}
		bw.WriteString(e.Path)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return errors.Wrap(err, "writing file list")
	}
	if len(bad) > 0 {
		return errors.Errorf("%d path(s) contain a newline and cannot be written as text (use --format json): %s", len(bad), strings.Join(bad, ", "))
	}
	return nil
}

func onlyParent(e *Entry) bool {
	for _, r := range e.Reasons {
		if r.Source != SourceParent {
			return false
		}
	}
	return true
}

// WriteJSON writes the list as indented JSON. A path or link target that
// is not valid UTF-8 also goes in base64 (path_b64, target_b64), exactly.
func WriteJSON(w io.Writer, l *List) error {
	for _, e := range l.Entries {
		e.PathB64, e.TargetB64 = "", ""
		if !utf8.ValidString(e.Path) {
			e.PathB64 = base64.StdEncoding.EncodeToString([]byte(e.Path))
		}
		if !utf8.ValidString(e.Target) {
			e.TargetB64 = base64.StdEncoding.EncodeToString([]byte(e.Target))
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return errors.Wrap(enc.Encode(l), "writing file list")
}

// Request is one path read from a list file.
type Request struct {
	Path   string
	Mode   Mode
	Reason Reason
}

// MaxListLine bounds a line of a text list (PATH_MAX and some).
const MaxListLine = 64 << 10

// Read reads a list written by WriteText or WriteJSON (detected from the
// first non-blank byte). In text, blank lines and lines starting with '#'
// are skipped; every other line must be an absolute path.
func Read(r io.Reader, name string) ([]Request, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(512)
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return readJSON(br, name)
	}
	var out []Request
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 4096), MaxListLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.IndexByte(line, 0) >= 0 {
			return nil, errors.Errorf("%s:%d: expected an absolute path, got binary data", name, n)
		}
		if !strings.HasPrefix(line, "/") {
			return nil, errors.Errorf("%s:%d: expected an absolute path starting with '/', got %q", name, n, clip(line))
		}
		out = append(out, Request{Path: line, Mode: Follow, Reason: Reason{Source: SourceList, Where: fmt.Sprintf("%s:%d", name, n)}})
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, errors.Errorf("%s:%d: line longer than %d bytes: expected one path per line", name, n+1, MaxListLine)
		}
		return nil, errors.Wrapf(err, "reading %s", name)
	}
	return out, nil
}

func readJSON(r io.Reader, name string) ([]Request, error) {
	var l List
	dec := json.NewDecoder(r)
	if err := dec.Decode(&l); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, errors.Errorf("%s: byte %d: invalid JSON file list: %v", name, se.Offset, err)
		}
		return nil, errors.Errorf("%s: invalid JSON file list (expected {\"entries\": [{\"path\": ...}]}): %v", name, err)
	}
	out := make([]Request, 0, len(l.Entries))
	for i, e := range l.Entries {
		if e != nil && e.PathB64 != "" {
			raw, err := base64.StdEncoding.DecodeString(e.PathB64)
			if err != nil {
				return nil, errors.Errorf("%s: entry %d: path_b64: %v", name, i+1, err)
			}
			e.Path = string(raw)
		}
		if e == nil || !strings.HasPrefix(e.Path, "/") {
			return nil, errors.Errorf("%s: entry %d: expected an absolute \"path\"", name, i+1)
		}
		m := Follow
		if e.Kind == Symlink {
			m = NoFollow
		}
		why := Reason{Source: SourceList, Where: fmt.Sprintf("%s: entry %d", name, i+1)}
		if len(e.Reasons) > 0 {
			why = e.Reasons[0]
		}
		out = append(out, Request{Path: e.Path, Mode: m, Reason: why})
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
