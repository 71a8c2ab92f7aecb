package collect

// Unreadable counts, for one traced process, the calls whose path
// argument the collector could not read: strace printed an address where
// the path belongs (the process had become non-dumpable after a
// privilege drop, and the tracer lacks CAP_SYS_PTRACE), or scratchpack's
// own tracer failed to read it. Every collector fills these; the build
// warns once per process and --strict makes any of them an error.
type Unreadable struct {
	Pid     int      `json:"pid"`
	Command string   `json:"command"`         // the process's comm or the program it last executed
	UID     int      `json:"uid"`             // -1 when unknown
	Count   int      `json:"count"`           // calls whose path could not be read
	Calls   []string `json:"calls"`           // the distinct syscall names, sorted
	Where   string   `json:"where,omitempty"` // the first such call: "app.strace:120", or "pid 123"
}
