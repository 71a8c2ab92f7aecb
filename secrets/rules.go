package secrets

import (
	"bytes"
)

// scanBlock looks for the anchors that start in buf[from:to] and checks
// each in its context (buf holds ctx bytes around it, or the file's
// ends). Offsets are relative to buf.
func scanBlock(buf []byte, from, to int) []Finding {
	var out []Finding
	// check looks at the anchor at k in a window of ctx bytes on each
	// side, so that what it sees does not depend on where blocks end.
	check := func(k int, fn func(w []byte, i int) (Finding, bool)) {
		lo, hi := max(0, k-ctx), min(len(buf), k+ctx)
		if f, ok := fn(buf[lo:hi], k-lo); ok {
			f.offset += int64(lo)
			out = append(out, f)
		}
	}
	// Each anchor is found by one byte, rare enough that the search runs
	// at the speed of memory (bytes.IndexByte); the bytes around it say
	// which anchor it is. A finding belongs to the block where the byte
	// is, so that none is seen twice.
	each := func(c byte, fn func(k int)) {
		for i := from; i < to; {
			j := bytes.IndexByte(buf[i:to], c)
			if j < 0 {
				return
			}
			fn(i + j)
			i += j + 1
		}
	}
	each('K', func(k int) { // "PRIVATE KEY-----", "PRIVATE KEY BLOCK-----", "AKIA"
		switch {
		case hasAt(buf, k, "KEY"):
			check(k, keyBlock)
		case hasAt(buf, k-1, "AKIA"):
			check(k-1, awsKey)
		}
	})
	each('S', func(k int) { // "ASIA"
		if hasAt(buf, k-1, "ASIA") {
			check(k-1, awsKey)
		}
	})
	each('_', func(k int) { // "ghp_" (gho_, ghu_, ghs_, ghr_), "github_pat_"
		switch {
		case k >= 3 && buf[k-3] == 'g' && buf[k-2] == 'h':
			check(k-3, githubToken)
		case hasAt(buf, k-6, "github_pat_"):
			check(k-6, githubToken)
		}
	})
	each('-', func(k int) { // "glpat-", "xoxb-" (xoxa-, xoxp-...)
		switch {
		case hasAt(buf, k-5, "glpat-"):
			check(k-5, gitlabToken)
		case hasAt(buf, k-4, "xox"):
			check(k-4, slackToken)
		}
	})
	return out
}

// hasAt reports whether buf holds s at i.
func hasAt(buf []byte, i int, s string) bool {
	return i >= 0 && i+len(s) <= len(buf) && string(buf[i:i+len(s)]) == s
}

// keyBlock checks a 'K' at k for "-----BEGIN <TYPE> PRIVATE KEY-----"
// (or "PGP PRIVATE KEY BLOCK-----") followed by a key body: a line of
// base64, or PEM headers ("Proc-Type:"), after a newline or a JSON "\n".
func keyBlock(buf []byte, k int) (Finding, bool) {
	if !hasAt(buf, k, "KEY") || !hasAt(buf, k-len("PRIVATE "), "PRIVATE ") {
		return Finding{}, false
	}
	end := k + len("KEY")
	pgp := false
	switch {
	case hasAt(buf, end, "-----"):
		end += len("-----")
	case hasAt(buf, end, " BLOCK-----"):
		end += len(" BLOCK-----")
		pgp = true
	default:
		return Finding{}, false
	}
	// the label between "-----BEGIN " and "PRIVATE ": up to 24 bytes of
	// capitals, digits and spaces ("RSA ", "OPENSSH ", "ENCRYPTED ", "")
	p := k - len("PRIVATE ")
	label := p
	for label > 0 && p-label < 24 && (isUpper(buf[label-1]) || isDigit(buf[label-1]) || buf[label-1] == ' ') {
		label--
	}
	for label < p && !hasAt(buf, label-len("-----BEGIN "), "-----BEGIN ") {
		label++
	}
	if !hasAt(buf, label-len("-----BEGIN "), "-----BEGIN ") {
		return Finding{}, false
	}
	typ := string(bytes.TrimSpace(buf[label:p]))
	// the body
	rest := buf[end:]
	json := false
	switch {
	case bytes.HasPrefix(rest, []byte("\r\n")):
		rest = rest[2:]
	case bytes.HasPrefix(rest, []byte("\n")):
		rest = rest[1:]
	case bytes.HasPrefix(rest, []byte(`\n`)):
		rest, json = rest[2:], true
	default:
		return Finding{}, false
	}
	if pgp { // "Version: ..." or "Comment: ..." headers, a blank line, then base64
		for n := 0; n < 8 && (len(rest) > 0 && isUpper(rest[0])) && bytes.IndexByte(firstLine(rest, json), ':') > 0; n++ {
			rest = nextLine(rest, json)
		}
		if bytes.HasPrefix(rest, []byte("\n")) || bytes.HasPrefix(rest, []byte("\r\n")) || bytes.HasPrefix(rest, []byte(`\n`)) {
			rest = nextLine(rest, json)
		}
	}
	if !bytes.HasPrefix(rest, []byte("Proc-Type:")) && base64Run(rest) < 20 {
		return Finding{}, false
	}
	f := Finding{Kind: PrivateKey, Detail: typ, offset: int64(label - len("-----BEGIN "))}
	switch {
	case pgp:
		f.Kind, f.Detail = PGPKey, ""
	case typ == "OPENSSH":
		f.Kind, f.Detail = OpenSSHKey, ""
	case json && serviceAccount(buf, k):
		f.Kind, f.Detail = GCPKey, ""
	case typ == "":
		f.Detail = "PKCS#8"
	}
	return f, true
}

func firstLine(b []byte, json bool) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if json {
		if i := bytes.Index(b, []byte(`\n`)); i >= 0 {
			b = b[:i]
		}
	}
	return b
}

func nextLine(b []byte, json bool) []byte {
	l := firstLine(b, json)
	b = b[len(l):]
	switch {
	case bytes.HasPrefix(b, []byte("\r\n")):
		return b[2:]
	case bytes.HasPrefix(b, []byte("\n")):
		return b[1:]
	case json && bytes.HasPrefix(b, []byte(`\n`)):
		return b[2:]
	}
	return b
}

// serviceAccount reports whether the key at k is the "private_key" of a
// GCP service-account JSON file: "type": "service_account" near it.
func serviceAccount(buf []byte, k int) bool {
	lo, hi := max(0, k-ctx), min(len(buf), k+ctx)
	w := buf[lo:hi]
	return bytes.Contains(w, []byte(`"service_account"`)) && bytes.Contains(w, []byte(`"private_key"`))
}

// awsKey checks "AKIA"/"ASIA" at a: an access key id of 20 capitals and
// digits, alone as a word, and within ctx bytes a secret key: a word of
// exactly 40 base64 bytes with capitals, small letters and digits. The
// documentation's examples (…EXAMPLE) are not secrets.
func awsKey(buf []byte, a int) (Finding, bool) {
	const idLen = 20
	if a > 0 && isAlnum(buf[a-1]) || a+idLen > len(buf) || a+idLen < len(buf) && isAlnum(buf[a+idLen]) {
		return Finding{}, false
	}
	for _, c := range buf[a+4 : a+idLen] {
		if !isUpper(c) && !isDigit(c) {
			return Finding{}, false
		}
	}
	if bytes.Contains(buf[a:a+idLen], []byte("EXAMPLE")) {
		return Finding{}, false
	}
	lo, hi := max(0, a-ctx/4), min(len(buf), a+idLen+ctx/4)
	w := buf[lo:hi]
	for i := 0; i < len(w); {
		if !isB64(w[i]) {
			i++
			continue
		}
		j := i
		var up, low, dig bool
		for j < len(w) && (isB64(w[j])) {
			c := w[j]
			up, low, dig = up || isUpper(c), low || c >= 'a' && c <= 'z', dig || isDigit(c)
			j++
		}
		if j-i == 40 && up && low && dig && !bytes.Contains(w[i:j], []byte("EXAMPLE")) {
			return Finding{Kind: AWSKey, offset: int64(a)}, true
		}
		i = j
	}
	return Finding{}, false
}

// githubToken checks "gh" at g: "ghp_", "gho_", "ghu_", "ghs_", "ghr_"
// and 36 letters and digits, or "github_pat_" and at least 50 letters,
// digits and '_'.
func githubToken(buf []byte, g int) (Finding, bool) {
	if g > 0 && isAlnum(buf[g-1]) {
		return Finding{}, false
	}
	if hasAt(buf, g+3, "_") && bytes.IndexByte([]byte("pousr"), at(buf, g+2)) >= 0 {
		n := 0
		for i := g + 4; i < len(buf) && isAlnum(buf[i]); i++ {
			n++
		}
		if n == 36 && mixed(buf[g+4:g+4+n]) {
			return Finding{Kind: GitHubToken, offset: int64(g)}, true
		}
		return Finding{}, false
	}
	if hasAt(buf, g, "github_pat_") {
		i := g + len("github_pat_")
		n := 0
		for ; i < len(buf) && (isAlnum(buf[i]) || buf[i] == '_'); i++ {
			n++
		}
		if n >= 50 && mixed(buf[g+len("github_pat_"):i]) {
			return Finding{Kind: GitHubToken, Detail: "fine-grained", offset: int64(g)}, true
		}
	}
	return Finding{}, false
}

// gitlabToken checks "glpat-" and 20 letters, digits, '-' and '_'.
func gitlabToken(buf []byte, g int) (Finding, bool) {
	if g > 0 && isAlnum(buf[g-1]) {
		return Finding{}, false
	}
	i := g + len("glpat-")
	n := 0
	for ; i < len(buf) && (isAlnum(buf[i]) || buf[i] == '-' || buf[i] == '_'); i++ {
		n++
	}
	if n >= 20 && mixed(buf[g+len("glpat-"):i]) {
		return Finding{Kind: GitLabToken, offset: int64(g)}, true
	}
	return Finding{}, false
}

// slackToken checks "xox" and one of "abposr", '-', then at least 10
// letters, digits and '-', with digits among them.
func slackToken(buf []byte, x int) (Finding, bool) {
	if x > 0 && isAlnum(buf[x-1]) || !hasAt(buf, x+4, "-") || bytes.IndexByte([]byte("abposre"), at(buf, x+3)) < 0 {
		return Finding{}, false
	}
	i := x + 5
	n, digits := 0, 0
	for ; i < len(buf) && (isAlnum(buf[i]) || buf[i] == '-'); i++ {
		n++
		if isDigit(buf[i]) {
			digits++
		}
	}
	if n >= 10 && digits >= 3 {
		return Finding{Kind: SlackToken, offset: int64(x)}, true
	}
	return Finding{}, false
}

// mixed reports whether a token looks random: letters and digits both.
func mixed(b []byte) bool {
	var letter, digit bool
	for _, c := range b {
		letter = letter || isUpper(c) || c >= 'a' && c <= 'z'
		digit = digit || isDigit(c)
	}
	return letter && digit
}

// base64Run is the length of the base64 text at the start of b.
func base64Run(b []byte) int {
	n := 0
	for n < len(b) && (isB64(b[n]) || b[n] == '=') {
		n++
	}
	return n
}

func at(buf []byte, i int) byte {
	if i < 0 || i >= len(buf) {
		return 0
	}
	return buf[i]
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isUpper(c) || isDigit(c) || c >= 'a' && c <= 'z' }
func isB64(c byte) bool   { return isAlnum(c) || c == '+' || c == '/' }
