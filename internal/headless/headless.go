package headless

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/pkg/errors"
)

// Flags are the switches every run gets: headless, no sandbox (tests run
// as root), and nothing that reaches out on its own (updates, sync,
// background fetches, QUIC).
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
	"--remote-debugging-pipe",
}

// Find returns the Chromium program: Debian's chromium, else a
// chromium-browser or google-chrome on the PATH.
func Find() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on the PATH (Debian: apt-get install chromium)")
}

// Browser is a running Chromium.
type Browser struct {
	cmd    *exec.Cmd
	w      *os.File // commands: the browser's fd 3
	r      *os.File // replies and events: its fd 4
	stderr bytes.Buffer

	mu      sync.Mutex
	next    int
	pending map[int]chan message
	events  []Event
	notify  chan struct{} // closed and replaced when an event comes
	done    chan struct{} // closed when the pipe closes
	readErr error
}

// Event is a DevTools event, from the session that sent it.
type Event struct {
	Method    string          `json:"method"`
	SessionID string          `json:"sessionId"`
	Params    json.RawMessage `json:"params"`
}

type message struct {
	ID        int             `json:"id"`
	Method    string          `json:"method"`
	SessionID string          `json:"sessionId"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Start runs the browser with Flags, a profile in userDataDir (give it a
// new empty directory) and the extra flags.
func Start(exe, userDataDir string, extra ...string) (*Browser, error) {
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		return nil, errors.Wrap(err, "making the DevTools pipe")
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		return nil, errors.Wrap(err, "making the DevTools pipe")
	}
	args := append(append(append([]string{}, Flags...), "--user-data-dir="+userDataDir), extra...)
	args = append(args, "about:blank")
	b := &Browser{w: cmdW, r: outR, pending: map[int]chan message{}, notify: make(chan struct{}), done: make(chan struct{})}
	b.cmd = exec.Command(exe, args...)
	b.cmd.ExtraFiles = []*os.File{cmdR, outW} // fd 3 and fd 4
	b.cmd.Stderr = &b.stderr
	b.cmd.Env = append(os.Environ(), "HOME="+userDataDir)
	if err := b.cmd.Start(); err != nil {
		cmdR.Close()
		cmdW.Close()
		outR.Close()
		outW.Close()
		return nil, errors.Wrapf(err, "starting %s", exe)
	}
	cmdR.Close() // the browser's ends
	outW.Close()
	go b.read()
	return b, nil
}

// read delivers replies to their callers and keeps events.
func (b *Browser) read() {
	br := bufio.NewReaderSize(b.r, 1<<20)
	var err error
	for {
		var raw []byte
		raw, err = br.ReadBytes(0)
		if err != nil {
			break
		}
		var m message
		if err = json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			err = errors.Wrapf(err, "a DevTools message: %.200q", raw)
			break
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch := b.pending[m.ID]; ch != nil {
				delete(b.pending, m.ID)
				ch <- m
			}
		} else {
			b.events = append(b.events, Event{Method: m.Method, SessionID: m.SessionID, Params: m.Params})
			close(b.notify)
			b.notify = make(chan struct{})
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	b.readErr = err
	b.mu.Unlock()
	close(b.done)
}

// Call sends a method to the browser (sessionID "") or to an attached
// page, and decodes its result into result (when not nil).
func (b *Browser) Call(ctx context.Context, sessionID, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan message, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	req := map[string]any{"id": id, "method": method, "params": params}
	if sessionID != "" {
		req["sessionId"] = sessionID
	}
	data, err := json.Marshal(req)
	if err != nil {
		return errors.Wrapf(err, "encoding %s", method)
	}
	if _, err := b.w.Write(append(data, 0)); err != nil {
		return errors.Wrapf(err, "sending %s", method)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return errors.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return errors.Wrapf(json.Unmarshal(m.Result, result), "decoding the result of %s", method)
		}
		return nil
	case <-b.done:
		return errors.Errorf("%s: the browser closed the pipe: %v\n%s", method, b.readErr, b.Stderr())
	case <-ctx.Done():
		return errors.Wrapf(ctx.Err(), "waiting for %s", method)
	}
}

// Events returns the events so far of a session.
func (b *Browser) Events(sessionID string) []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Event
	for _, e := range b.events {
		if e.SessionID == sessionID {
			out = append(out, e)
		}
	}
	return out
}

// Wait waits for an event of a session, counting from the from'th
// event the session has (so that an event already seen is not taken).
func (b *Browser) Wait(ctx context.Context, sessionID, method string, from int) (Event, error) {
	for {
		b.mu.Lock()
		n := 0
		for _, e := range b.events {
			if e.SessionID != sessionID {
				continue
			}
			if n >= from && e.Method == method {
				b.mu.Unlock()
				return e, nil
			}
			n++
		}
		notify := b.notify
		b.mu.Unlock()
		select {
		case <-notify:
		case <-b.done:
			return Event{}, errors.Errorf("waiting for %s: the browser closed the pipe\n%s", method, b.Stderr())
		case <-ctx.Done():
			return Event{}, errors.Wrapf(ctx.Err(), "waiting for %s", method)
		}
	}
}

// Stderr is what the browser printed.
func (b *Browser) Stderr() string {
	return b.stderr.String()
}

// Close ends the browser: Browser.close, then a kill if it lingers.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5e9)
	defer cancel()
	_ = b.Call(ctx, "", "Browser.close", nil, nil)
	select {
	case <-b.done:
	case <-ctx.Done():
		_ = b.cmd.Process.Kill()
	}
	b.w.Close()
	err := b.cmd.Wait()
	b.r.Close()
	if err != nil && !strings.Contains(err.Error(), "signal") {
		return errors.Wrap(err, "chromium")
	}
	return nil
}

// Page is a tab attached to its own session.
type Page struct {
	b         *Browser
	SessionID string
	TargetID  string
}

// NewPage opens a blank tab of width×height and turns on what the tests
// watch: the network, the console (Runtime and Log) and page events.
func (b *Browser) NewPage(ctx context.Context, width, height int) (*Page, error) {
	var t struct {
		TargetID string `json:"targetId"`
	}
	if err := b.Call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &t); err != nil {
		return nil, err
	}
	var s struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.Call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": t.TargetID, "flatten": true}, &s); err != nil {
		return nil, err
	}
	p := &Page{b: b, SessionID: s.SessionID, TargetID: t.TargetID}
	for _, m := range []string{"Page.enable", "Network.enable", "Runtime.enable", "Log.enable"} {
		if err := p.Call(ctx, m, nil, nil); err != nil {
			return nil, err
		}
	}
	err := p.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
	return p, err
}

// Call sends a method to the page's session.
func (p *Page) Call(ctx context.Context, method string, params, result any) error {
	return p.b.Call(ctx, p.SessionID, method, params, result)
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(ctx context.Context, url string) error {
	from := len(p.b.Events(p.SessionID))
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.Call(ctx, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return errors.Errorf("loading %s: %s", url, nav.ErrorText)
	}
	_, err := p.b.Wait(ctx, p.SessionID, "Page.loadEventFired", from)
	return err
}

// Requests are the URLs of every request the page sent.
func (p *Page) Requests() []string {
	var out []string
	for _, e := range p.b.Events(p.SessionID) {
		if e.Method != "Network.requestWillBeSent" {
			continue
		}
		var r struct {
			Request struct {
				URL string `json:"url"`
			} `json:"request"`
		}
		if json.Unmarshal(e.Params, &r) == nil {
			out = append(out, r.Request.URL)
		}
	}
	return out
}

// Problems are the console errors and warnings, uncaught exceptions and
// browser log entries of level warning or error the page caused.
func (p *Page) Problems() []string {
	var out []string
	for _, e := range p.b.Events(p.SessionID) {
		switch e.Method {
		case "Runtime.consoleAPICalled":
			var c struct {
				Type string            `json:"type"`
				Args []json.RawMessage `json:"args"`
			}
			if json.Unmarshal(e.Params, &c) == nil && (c.Type == "error" || c.Type == "warning" || c.Type == "assert") {
				out = append(out, fmt.Sprintf("console.%s: %s", c.Type, bytes.Join(rawJoin(c.Args), []byte(" "))))
			}
		case "Runtime.exceptionThrown":
			out = append(out, "exception: "+string(e.Params))
		case "Log.entryAdded":
			var l struct {
				Entry struct {
					Level, Source, Text, URL string
				} `json:"entry"`
			}
			if json.Unmarshal(e.Params, &l) == nil && (l.Entry.Level == "error" || l.Entry.Level == "warning") {
				out = append(out, fmt.Sprintf("log %s (%s): %s %s", l.Entry.Level, l.Entry.Source, l.Entry.Text, l.Entry.URL))
			}
		}
	}
	return out
}

func rawJoin(rs []json.RawMessage) [][]byte {
	out := make([][]byte, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

// Eval evaluates a JavaScript expression in the page and decodes its
// value (returned by value: make it JSON-able) into result.
func (p *Page) Eval(ctx context.Context, expr string, result any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	if err := p.Call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r); err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return errors.Errorf("evaluating %.80q: %s", expr, r.ExceptionDetails)
	}
	return errors.Wrapf(json.Unmarshal(r.Result.Value, result), "decoding the value of %.80q", expr)
}

// Screenshot takes a PNG of the page; full takes the whole page, not
// only the viewport.
func (p *Page) Screenshot(ctx context.Context, full bool) ([]byte, error) {
	var r struct {
		Data string `json:"data"`
	}
	if err := p.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": full}, &r); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	return png, errors.Wrap(err, "decoding the screenshot")
}
