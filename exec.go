package scratchpack

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/tracer"
)

// ExecRun is one --exec command's traced run.
type ExecRun struct {
	Command   string `json:"command"`
	ExitCode  int    `json:"exit_code"`
	ElapsedMS int64  `json:"elapsed_ms"`
	// During is set when it ran while the server ran (after the probes).
	During bool `json:"during_server,omitempty"`
	log    string
	uses   []collect.Use // what a watch saw (fanotify) or the ptrace collector
	logged bool          // log was written
	strace string        // the version of the strace that traced it, if one did
	// unreadable: the ptrace collector's calls whose path it could not read
	unreadable []collect.Unreadable
}

// ExecLog is the strace log of an --exec run, for ListOptions.
type ExecLog struct {
	Exec string
	Log  string
}

// ReadExecFile reads an --exec-file: one shell command a line; blank
// lines and lines starting with # are skipped.
func ReadExecFile(name string) ([]string, error) {
	out, err := readLines(name, "the --exec-file")
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.Errorf("%s: no command in the --exec-file (one shell command a line)", name)
	}
	return out, nil
}

// execArgv is how an --exec command runs: split into words when it is a
// plain command line (no shell syntax: the shell would only exec it, and
// stays out of the image), else with /bin/sh -c.
func execArgv(cmd string) []string {
	if words, ok := SplitPlain(cmd); ok && len(words) > 0 {
		return words
	}
	return []string{"/bin/sh", "-c", cmd}
}

// SplitPlain splits a command line of plain words, with '...' and "..."
// quoting and backslash escapes outside single quotes. ok is false when
// the line uses anything else a shell gives meaning to (variables,
// globs, redirections, pipes, lists, substitutions, comments,
// assignments): then only a shell can run it.
func SplitPlain(s string) ([]string, bool) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch s[i] {
				case '$', '`', '!':
					return nil, false
				case '\\':
					if i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0 {
						i++
					}
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, false
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(s) || s[i+1] == '\n' {
				return nil, false
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '=' && !inWord:
			return nil, false
		case c == '=' && len(words) == 0 && !strings.ContainsAny(cur.String(), "/"):
			return nil, false // VAR=value cmd: an assignment
		case c == '~' && !inWord, c == '#' && !inWord:
			return nil, false
		case strings.IndexByte("|&;<>()$`*?[]{}!\n\r", c) >= 0:
			return nil, false
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}

// runExecs runs the --exec commands one after the other, each traced as
// the main command was (same collector, root, working directory and
// environment). during: the server runs meanwhile (nested runs).
func runExecs(ctx context.Context, execs []string, base tracer.Options, logDir string, during bool) ([]*ExecRun, error) {
	var out []*ExecRun
	for i, c := range execs {
		o := base
		o.Command = execArgv(c)
		o.Log = filepath.Join(logDir, "exec-"+strconv.Itoa(i+1)+".log")
		o.Program = ""
		o.Probes, o.Duration, o.AfterProbes = nil, 0, nil
		o.Stdin = nil
		er := &ExecRun{Command: c, During: during, log: o.Log}
		t0 := time.Now()
		res, err := tracer.Run(ctx, o)
		er.ElapsedMS = time.Since(t0).Milliseconds()
		out = append(out, er)
		if err != nil {
			return out, errors.WithMessagef(err, "--exec %q", c)
		}
		er.ExitCode = res.ExitCode
		if res.ExitCode != 0 {
			return out, errors.Errorf("--exec %q exited with status %d%s", c, res.ExitCode, signalNote(res.Signal))
		}
		er.logged = base.Collector != tracer.Fanotify && base.Collector != tracer.Ptrace || res.WatchLog
		er.strace = res.Strace
		if res.Watch != nil {
			er.uses = collect.FromWatch(res.Watch.Accesses)
		}
		if base.Collector == tracer.Ptrace {
			er.uses = res.Uses // host paths: execUses takes them inside the root
			er.unreadable = res.Unreadable
		}
	}
	return out, nil
}

// execUses are the uses a watch saw in the --exec runs, tagged, and the
// strace logs to read with their tags.
func execUses(runs []*ExecRun, root string) ([]collect.Use, []ExecLog) {
	var uses []collect.Use
	var logs []ExecLog
	for _, r := range runs {
		u := r.uses
		if root != "/" {
			u = insideRoot(u, root)
		}
		for i := range u {
			u[i].ExecTag = r.Command
		}
		uses = append(uses, u...)
		if r.logged {
			logs = append(logs, ExecLog{Exec: r.Command, Log: r.log})
		}
	}
	return uses, logs
}
