// Package headless drives a headless Chromium over the DevTools protocol
// on a pipe (--remote-debugging-pipe: the browser reads commands on its
// file descriptor 3 and writes replies and events on 4, each message JSON
// ended by a NUL byte), so that tests open a page the way a person would
// and see what it did: every network request, every console message and
// uncaught exception, a screenshot, and values read from its DOM.
//
// The pipe needs no port and no WebSocket library; the few DevTools
// methods the tests call are sent as plain JSON.
package headless
