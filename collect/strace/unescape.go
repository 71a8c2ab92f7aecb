package strace

import (
	"bytes"

	"github.com/pkg/errors"
)

// unquote decodes a strace string literal. s must start with '"'. It
// returns the decoded bytes, the number of bytes of s consumed (including
// a "..." truncation marker right after the closing quote) and whether the
// string was truncated by strace.
//
// strace escapes '"' and '\\', writes \t \n \v \f \r as C escapes, prints
// other bytes outside 0x20-0x7e as octal (1 to 3 digits, padded to 3 only
// when a digit follows) or, with -x/-xx, as \xHH. The decoding is exact:
// paths are bytes, not UTF-8.
func unquote(s []byte) (out []byte, n int, truncated bool, err error) {
	end, err := skipString(s)
	if err != nil {
		return nil, end, false, err
	}
	// Most strings have no escape: the bytes between the quotes are the
	// value (the caller copies what it keeps).
	if bytes.IndexByte(s[1:end-1], '\\') < 0 {
		n = end
		if n+3 <= len(s) && s[n] == '.' && s[n+1] == '.' && s[n+2] == '.' {
			return s[1 : end-1], n + 3, true, nil
		}
		return s[1 : end-1], n, false, nil
	}
	out = make([]byte, 0, end)
	i := 1
	for {
		if i >= len(s) {
			return nil, i, false, errors.New("unterminated string")
		}
		c := s[i]
		switch c {
		case '"':
			i++
			if i+3 <= len(s) && s[i] == '.' && s[i+1] == '.' && s[i+2] == '.' {
				return out, i + 3, true, nil
			}
			return out, i, false, nil
		case '\\':
			b, w, err := unescapeOne(s[i:])
			if err != nil {
				return nil, i, false, err
			}
			out = append(out, b)
			i += w
		default:
			out = append(out, c)
			i++
		}
	}
}

// plainString returns what unquote decodes from a, an argument that is
// one string literal, when it has no escape and no truncation marker (a
// path, most often): two vectorized scans, where unquote makes three.
func plainString(a []byte) ([]byte, bool) {
	if len(a) < 2 || a[0] != '"' || a[len(a)-1] != '"' {
		return nil, false
	}
	in := a[1 : len(a)-1]
	if bytes.IndexByte(in, '"') >= 0 || bytes.IndexByte(in, '\\') >= 0 {
		return nil, false
	}
	return in, true
}

// skipString returns the index after the closing quote of the string
// literal at the start of s, without decoding it. It jumps from quote
// to quote (IndexByte is vectorized) and only looks at backslashes
// between them.
func skipString(s []byte) (int, error) {
	if len(s) == 0 || s[0] != '"' {
		return 0, errors.New("expected a string starting with '\"'")
	}
	i := 1
	for {
		j := bytes.IndexByte(s[i:], '"')
		if j < 0 {
			return len(s), errors.New("unterminated string (truncated line?)")
		}
		k := bytes.IndexByte(s[i:i+j], '\\')
		if k < 0 {
			return i + j + 1, nil
		}
		// an escape: skip it (it may be \" or \\) and go on after it
		i += k + 2
		if i > len(s) {
			return len(s), errors.New("unterminated string (truncated line?)")
		}
	}
}

// unescapeOne decodes one escape sequence at the start of s (s[0] is '\\').
func unescapeOne(s []byte) (b byte, width int, err error) {
	if len(s) < 2 {
		return 0, 0, errors.New("backslash at end of string")
	}
	switch c := s[1]; c {
	case 'n':
		return '\n', 2, nil
	case 't':
		return '\t', 2, nil
	case 'r':
		return '\r', 2, nil
	case 'v':
		return '\v', 2, nil
	case 'f':
		return '\f', 2, nil
	case '\\', '"', '\'':
		return c, 2, nil
	case 'x':
		if len(s) < 4 || !isHex(s[2]) || !isHex(s[3]) {
			return 0, 0, errors.New(`\x must be followed by two hex digits`)
		}
		return hexVal(s[2])<<4 | hexVal(s[3]), 4, nil
	default:
		if c < '0' || c > '7' {
			return 0, 0, errors.Errorf("unknown escape \\%c", c)
		}
		v := 0
		w := 1
		for w <= 3 && w < len(s) && s[w] >= '0' && s[w] <= '7' {
			v = v*8 + int(s[w]-'0')
			w++
		}
		if v > 0xff {
			return 0, 0, errors.Errorf("octal escape \\%s is larger than a byte", s[1:w])
		}
		return byte(v), w, nil
	}
}

// unescapeDecoration decodes the inside of a -y decoration such as
// "/tmp/angle\74br\76.txt": the same escapes as strings, without quotes.
func unescapeDecoration(s []byte) ([]byte, error) {
	if bytes.IndexByte(s, '\\') < 0 {
		return s, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			out = append(out, s[i])
			i++
			continue
		}
		b, w, err := unescapeOne(s[i:])
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		i += w
	}
	return out, nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
