package pkgmeta

import (
	"bytes"
	"strconv"
	"strings"
)

// Field is one field of a control paragraph.
type Field struct {
	Name  string
	Value string // the first line's value and the continuation lines, joined by "\n", each trimmed
}

// Paragraph is one stanza of a Debian control file (a dpkg status entry,
// a DEP-5 copyright paragraph).
type Paragraph struct {
	Fields []Field
	// Raw holds the stanza exactly as it was read, with its final newline.
	Raw []byte
	// Line is the line number of the first field.
	Line int
}

// Get returns the value of a field (field names are case-insensitive).
func (p *Paragraph) Get(name string) string {
	for _, f := range p.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether the paragraph has a field.
func (p *Paragraph) Has(name string) bool {
	for _, f := range p.Fields {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// SyntaxError says where a control file is malformed.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// ParseControl reads Debian control data (deb822): paragraphs separated
// by blank lines, "Name: value" fields, continuation lines starting with
// a space or a tab. Lines starting with "#" between fields are comments
// (allowed in DEP-5 files). name is used in errors.
func ParseControl(data []byte, name string) ([]Paragraph, error) {
	var out []Paragraph
	var cur *Paragraph
	start := 0 // offset of cur's first line
	lineNo := 0
	// the last field's value with its continuation lines, joined once
	// it is complete (a long license text would be copied once per line)
	var more strings.Builder
	settle := func() {
		if more.Len() > 0 {
			cur.Fields[len(cur.Fields)-1].Value = more.String()
			more.Reset()
		}
	}
	end := func(off int) {
		if cur != nil {
			settle()
			cur.Raw = append([]byte(nil), data[start:off]...)
			if len(cur.Raw) > 0 && cur.Raw[len(cur.Raw)-1] != '\n' {
				cur.Raw = append(cur.Raw, '\n')
			}
			out = append(out, *cur)
			cur = nil
		}
	}
	for off := 0; off < len(data); {
		lineNo++
		nl := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if nl >= 0 {
			next = off + nl + 1
		}
		line := strings.TrimRight(string(data[off:next]), "\r\n")
		switch {
		case strings.TrimSpace(line) == "":
			end(off)
		case line[0] == '#':
			// a comment
		case line[0] == ' ' || line[0] == '\t':
			if cur == nil || len(cur.Fields) == 0 {
				return nil, &SyntaxError{File: name, Line: lineNo, Msg: "a continuation line outside a field: expected \"Name: value\""}
			}
			if more.Len() == 0 {
				more.WriteString(cur.Fields[len(cur.Fields)-1].Value)
			}
			more.WriteString("\n")
			more.WriteString(strings.TrimSpace(line))
		default:
			colon := strings.IndexByte(line, ':')
			if colon <= 0 {
				return nil, &SyntaxError{File: name, Line: lineNo, Msg: "expected \"Name: value\", got " + quote(line)}
			}
			fname := line[:colon]
			if strings.ContainsAny(fname, " \t") {
				return nil, &SyntaxError{File: name, Line: lineNo, Msg: "a field name with a space: " + quote(fname)}
			}
			if cur == nil {
				cur = &Paragraph{Line: lineNo}
				start = off
			}
			settle()
			if cur.Has(fname) {
				return nil, &SyntaxError{File: name, Line: lineNo, Msg: "field " + fname + " appears twice in one paragraph"}
			}
			cur.Fields = append(cur.Fields, Field{Name: fname, Value: strings.TrimSpace(line[colon+1:])})
		}
		off = next
	}
	end(len(data))
	return out, nil
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return "\"" + s + "\""
}
