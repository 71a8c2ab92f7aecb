package filelist

import (
	"fmt"
	"io/fs"
	"os"
	pathpkg "path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// Kind of entry.
type Kind string

// Kinds of entries.
const (
	File     Kind = "file"
	Dir      Kind = "dir"
	Symlink  Kind = "symlink"
	Hardlink Kind = "hardlink" // another name of a File entry's inode
	// Special is a FIFO or a device, packed only when included by hand.
	Special Kind = "special"
)

// Perm is a tar mode (permissions with setuid, setgid and sticky), shown
// in JSON as an octal string such as "0755".
type Perm uint32

// MarshalJSON writes "0755".
func (p Perm) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("\"%04o\"", uint32(p))), nil
}

// UnmarshalJSON reads "0755" or a number.
func (p *Perm) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), "\"")
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 07777 {
		return errors.Errorf("mode %s: expected an octal mode such as \"0755\"", b)
	}
	*p = Perm(v)
	return nil
}

// Source names what brought an entry into the list. The collectors'
// sources (strace, ldd, interp, shebang, fanotify, link) are spelled as
// collect.Source spells them; the others are below.
type Source string

// Sources that the list itself and the pipeline add.
const (
	SourceList       Source = "list"        // read from a file list
	SourceInclude    Source = "include"     // --include
	SourceELF        Source = "elf"         // a shared library an ELF file needs
	SourceSymlink    Source = "symlink"     // a link on the way to another entry
	SourceLinkTarget Source = "link-target" // what a listed link points to
	SourceParent     Source = "parent"      // a directory above an entry
	SourceImage      Source = "image"       // what every image has (an empty /tmp)
	setPrefix               = "set:"
	completePrefix          = "complete:"
)

// SetSource is the source of the files a named set (collect/sets) adds.
func SetSource(name string) Source { return Source(setPrefix + name) }

// Set returns the set's name when s is a SetSource.
func (s Source) Set() (string, bool) {
	if strings.HasPrefix(string(s), setPrefix) {
		return string(s)[len(setPrefix):], true
	}
	return "", false
}

// CompleteSource is the source of the files --complete KIND adds (the
// rest of a unit a kept file belongs to): "complete:python",
// "complete:os"; "complete:package" for --complete-package.
func CompleteSource(kind string) Source { return Source(completePrefix + kind) }

// Complete returns the kind when s is a CompleteSource.
func (s Source) Complete() (string, bool) {
	if strings.HasPrefix(string(s), completePrefix) {
		return string(s)[len(completePrefix):], true
	}
	return "", false
}

// Reason says why an entry is in the list.
type Reason struct {
	Source Source `json:"source"`
	Detail string `json:"detail,omitempty"`
	Where  string `json:"where,omitempty"`
	// Exec is the --exec command whose run used the path ("" for the
	// main command).
	Exec string `json:"exec,omitempty"`
}

// Entry is one path of the future rootfs.
type Entry struct {
	Path string `json:"path"` // absolute, canonical for files and dirs
	Kind Kind   `json:"kind"`
	// Mode holds the permission bits with setuid, setgid and sticky, as
	// in tar (07777).
	Mode   Perm   `json:"mode"`
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	Size   int64  `json:"size"`
	Target string `json:"target,omitempty"` // symlink content; a hardlink's first name
	// Type of a Special entry: "fifo", "char" or "block", with the
	// device numbers.
	Type         string `json:"type,omitempty"`
	Major, Minor uint32 `json:"-"`
	// PathB64 and TargetB64 hold the exact bytes of a path or target that
	// is not valid UTF-8, which JSON strings cannot carry.
	PathB64   string   `json:"path_b64,omitempty"`
	TargetB64 string   `json:"target_b64,omitempty"`
	Reasons   []Reason `json:"reasons,omitempty"`

	// Content, when set, is the host file to take the bytes from instead
	// of the file under the root (a staged copy, e.g. a UPX-packed one).
	Content string `json:"-"`
	// Data, when not nil, is the file's content, made by scratchpack
	// (a generated /etc/passwd): there is no file under the root. A Dir
	// entry with a non-nil (empty) Data was made too (AddGenerated).
	Data []byte `json:"-"`

	ModTime time.Time `json:"-"`
	dev     uint64
	ino     uint64
	nlink   uint64
}

// List is a sorted set of entries: parents before children, every
// directory on the way to an entry present.
type List struct {
	Root    string   `json:"root"`
	Entries []*Entry `json:"entries"`
}

// Lookup returns the entry at path.
func (l *List) Lookup(path string) *Entry {
	i := sort.Search(len(l.Entries), func(i int) bool { return l.Entries[i].Path >= path })
	if i < len(l.Entries) && l.Entries[i].Path == path {
		return l.Entries[i]
	}
	return nil
}

// Totals counts entries by kind, and the bytes of regular files.
func (l *List) Totals() (files, dirs, links, hardlinks int, bytes int64) {
	for _, e := range l.Entries {
		switch e.Kind {
		case File:
			files++
			bytes += e.Size
		case Dir:
			dirs++
		case Symlink:
			links++
		case Hardlink:
			hardlinks++
		}
	}
	return
}

// Mode says how Add treats the final component of a path.
type Mode uint8

// Add modes.
const (
	// Follow: the path, every symlink met, and the file the last one
	// points to (as open(2) sees it). A directory comes alone.
	Follow Mode = iota
	// NoFollow: like Follow, but a final symlink is kept and not followed.
	NoFollow
	// Parent: only the directory that contains the path.
	Parent
)

// MissingError is a path that does not exist under the root.
type MissingError struct {
	Path   string
	At     string // the component that is missing
	Reason Reason
}

func (e *MissingError) Error() string {
	var notes []string
	if e.At != "" && e.At != e.Path {
		notes = append(notes, e.At+" is missing")
	}
	if e.Reason.Source != "" {
		n := "listed by " + string(e.Reason.Source)
		if e.Reason.Where != "" {
			n += " at " + e.Reason.Where
		}
		notes = append(notes, n)
	}
	msg := e.Path + " does not exist"
	if len(notes) > 0 {
		msg += " (" + strings.Join(notes, "; ") + ")"
	}
	return msg
}

// Unwrap makes errors.Is(err, fs.ErrNotExist) true.
func (e *MissingError) Unwrap() error { return fs.ErrNotExist }

// SkippedError is a path left out because of its type (FIFO, socket,
// device), which an image cannot carry usefully.
type SkippedError struct {
	Path string
	Type string
}

func (e *SkippedError) Error() string {
	if e.Type == "socket" {
		return fmt.Sprintf("%s is a socket: left out (a tar archive cannot hold one)", e.Path)
	}
	return fmt.Sprintf("%s is a %s: left out (--include %s packs it)", e.Path, e.Type, e.Path)
}

// Builder accumulates entries. It is not safe for concurrent use.
type Builder struct {
	res     *rootpath.Resolver
	entries map[string]*Entry
	filter  *Filter
}

// SetFilter sets what stays out. Paths it excludes are not added (Add
// returns an *ExcludedError); directories needed as parents of other
// entries are always added.
func (b *Builder) SetFilter(f *Filter) { b.filter = f }

// NewBuilder returns a builder for files under res's root.
func NewBuilder(res *rootpath.Resolver) *Builder {
	return &Builder{res: res, entries: map[string]*Entry{}}
}

// Resolver is the resolver of the builder's root.
func (b *Builder) Resolver() *rootpath.Resolver { return b.res }

// Files returns the paths of the regular files added so far, sorted.
func (b *Builder) Files() []string {
	var out []string
	for p, e := range b.entries {
		if e.Kind == File {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Has reports whether path is already an entry.
func (b *Builder) Has(path string) bool { _, ok := b.entries[path]; return ok }

// Add adds path (absolute, inside the root) and everything it needs, and
// returns the canonical path of the final file (for Follow). A path that
// does not exist gives a *MissingError; a FIFO, socket or device a
// *SkippedError; nothing is added for them but the symlinks and
// directories on the way.
func (b *Builder) Add(path string, mode Mode, why Reason) (string, error) {
	if !strings.HasPrefix(path, "/") {
		return "", errors.Errorf("%s: expected an absolute path", path)
	}
	if mode != Parent {
		// the path as used: /proc/self/status is out before it is resolved
		if ex := b.filter.excluded(cleanPath(path)); ex != nil {
			return "", ex
		}
	}
	if mode == Parent {
		res, err := b.res.Resolve(path, false)
		b.addLinks(res.Links, path)
		dir := rootpath.Parent(res.Path)
		if err != nil {
			var re *rootpath.Error
			// the file itself may be gone; its directory must exist
			if errors.As(err, &re) && re.At == res.Path && errors.Is(err, fs.ErrNotExist) {
				return dir, b.addDir(dir, why)
			}
			return "", b.convert(path, err, why)
		}
		return dir, b.addDir(dir, why)
	}
	res, err := b.res.Resolve(path, mode == Follow)
	b.addLinks(res.Links, path)
	if err != nil {
		return "", b.convert(path, err, why)
	}
	return res.Path, b.addInfo(res.Path, res.Info, why)
}

// AddTree adds a directory and everything under it (a directory taken
// whole): files, directories, symlinks kept as links with what they
// point to. Excluded paths are skipped (and their subtrees); each is
// passed to skipped, with the other entries that could not be added.
func (b *Builder) AddTree(dir string, why Reason, skipped func(error)) error {
	canon, err := b.Add(dir, Follow, why)
	if err != nil {
		return err
	}
	var walk func(d string, depth int) error
	walk = func(d string, depth int) error {
		if depth > 256 {
			return errors.Errorf("%s: directories nested too deep", d)
		}
		names, err := readDirNames(b.res.HostPath(d))
		if err != nil {
			return errors.Wrapf(err, "listing %s", d)
		}
		for _, n := range names {
			p := d + "/" + n
			if d == "/" {
				p = "/" + n
			}
			info, _, err := b.res.Lstat(p)
			if err != nil {
				skipped(errors.Wrapf(err, "adding %s", p))
				continue
			}
			if _, err := b.Add(p, NoFollow, why); err != nil {
				skipped(err)
				continue
			}
			if info.Mode()&fs.ModeSymlink != 0 {
				// what the link points to comes along
				if _, err := b.Add(p, Follow, Reason{Source: SourceLinkTarget, Detail: "of " + p}); err != nil {
					skipped(err)
				}
				continue
			}
			if info.IsDir() {
				if err := walk(p, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	info, _, err := b.res.Lstat(canon)
	if err != nil || !info.IsDir() {
		return err // a file: added above
	}
	return walk(canon, 0)
}

// AddData adds a file made by scratchpack, with the given content and
// mode, owned by root.
func (b *Builder) AddData(p string, data []byte, mode uint32, why Reason) error {
	if !strings.HasPrefix(p, "/") || p == "/" {
		return errors.Errorf("%s: expected an absolute file path", p)
	}
	if ex := b.filter.excluded(p); ex != nil {
		return ex
	}
	e := &Entry{Path: p, Kind: File, Mode: Perm(mode), Size: int64(len(data)), Data: data, ModTime: time.Unix(0, 0)}
	e.addReason(why)
	b.entries[p] = e
	return b.addParents(p)
}

func (b *Builder) convert(path string, err error, why Reason) error {
	var ex *ExcludedError
	if errors.As(err, &ex) {
		return err
	}
	var re *rootpath.Error
	if errors.As(err, &re) && errors.Is(re.Err, syscall.ENOENT) {
		return &MissingError{Path: path, At: re.At, Reason: why}
	}
	return errors.Wrapf(err, "adding %s", path)
}

func (b *Builder) addLinks(links []rootpath.Link, to string) {
	for _, l := range links {
		info, _, err := b.res.Lstat(l.Path)
		if err != nil {
			continue
		}
		_ = b.addInfo(l.Path, info, Reason{Source: SourceSymlink, Detail: "on the way to " + to})
	}
}

func (b *Builder) addDir(dir string, why Reason) error {
	info, _, err := b.res.Lstat(dir)
	if err != nil {
		return errors.Wrapf(err, "adding directory %s", dir)
	}
	return b.addInfo(dir, info, why)
}

// AddRuntimeDir adds a directory the program made (parentOf false: path
// is the directory) or wrote into (parentOf true: path is what it wrote),
// as an entry of its own with its owner and mode, even when an exclude
// of contents such as /run/** (RuntimeExcludes) covers it; the files in
// it stay out. It returns the directory's canonical path.
func (b *Builder) AddRuntimeDir(path string, parentOf bool, why Reason) (string, error) {
	if !strings.HasPrefix(path, "/") {
		return "", errors.Errorf("%s: expected an absolute path", path)
	}
	res, err := b.res.Resolve(path, !parentOf)
	b.addLinks(res.Links, path)
	dir := res.Path
	if parentOf {
		dir = rootpath.Parent(res.Path)
	}
	if err != nil {
		var re *rootpath.Error
		if !parentOf || !errors.As(err, &re) || re.At != res.Path || !errors.Is(err, fs.ErrNotExist) {
			return "", b.convert(path, err, why)
		}
		// the file itself may be gone; its directory must exist
	}
	info, _, err := b.res.Lstat(dir)
	if err != nil {
		return "", b.convert(dir, err, why)
	}
	if !info.IsDir() {
		return dir, b.addInfo(dir, info, why)
	}
	return dir, b.addInfoAs(dir, info, why, true)
}

// addInfo adds one entry with its metadata, then its parents.
func (b *Builder) addInfo(p string, info fs.FileInfo, why Reason) error {
	return b.addInfoAs(p, info, why, false)
}

// addInfoAs is addInfo; a runtime directory passes RuntimeExcludes.
func (b *Builder) addInfoAs(p string, info fs.FileInfo, why Reason, runtime bool) error {
	if e, ok := b.entries[p]; ok {
		e.addReason(why)
		return nil
	}
	if ex := b.filter.excludedAs(p, runtime); ex != nil && p != "/" {
		return ex
	}
	e := &Entry{Path: p}
	fillMeta(e, info)
	switch m := info.Mode(); {
	case m.IsRegular():
		e.Kind = File
		e.Size = info.Size()
	case m.IsDir():
		e.Kind = Dir
	case m&fs.ModeSymlink != 0:
		e.Kind = Symlink
		_, target, err := b.res.Lstat(p)
		if err != nil {
			return errors.Wrapf(err, "reading symlink %s", p)
		}
		e.Target = target
	case b.filter != nil && b.filter.Include[p] && m&(fs.ModeNamedPipe|fs.ModeDevice) != 0:
		// included by hand: a FIFO or a device goes in as it is
		e.Kind = Special
		switch {
		case m&fs.ModeNamedPipe != 0:
			e.Type = "fifo"
		case m&fs.ModeCharDevice != 0:
			e.Type = "char"
		default:
			e.Type = "block"
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			e.Major, e.Minor = uint32((st.Rdev>>8)&0xfff|(st.Rdev>>32)&^0xfff), uint32(st.Rdev&0xff|(st.Rdev>>12)&^0xff)
		}
	default:
		return &SkippedError{Path: p, Type: typeName(m)}
	}
	e.addReason(why)
	if p == "/" {
		return nil // the root directory is the image's / : not an entry
	}
	b.entries[p] = e
	return b.addParents(p)
}

func (b *Builder) addParents(p string) error {
	for dir := rootpath.Parent(p); dir != "/"; dir = rootpath.Parent(dir) {
		if _, ok := b.entries[dir]; ok {
			return nil // its parents are there too
		}
		info, _, err := b.res.Lstat(dir)
		if err != nil {
			return errors.Wrapf(err, "adding directory %s", dir)
		}
		e := &Entry{Path: dir, Kind: Dir}
		fillMeta(e, info)
		e.addReason(Reason{Source: SourceParent})
		b.entries[dir] = e
	}
	return nil
}

// cleanPath cleans a path lexically, for matching only.
func cleanPath(p string) string {
	return pathpkg.Clean(p)
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

func fillMeta(e *Entry, info fs.FileInfo) {
	m := info.Mode()
	mode := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 04000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 02000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 01000
	}
	e.Mode = Perm(mode)
	e.ModTime = info.ModTime()
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		e.UID, e.GID = int(st.Uid), int(st.Gid)
		e.dev, e.ino, e.nlink = uint64(st.Dev), st.Ino, uint64(st.Nlink)
	}
}

// maxReasons bounds the reasons kept per entry.
const maxReasons = 16

func (e *Entry) addReason(r Reason) {
	if r.Source == "" {
		return
	}
	for _, x := range e.Reasons {
		if x.Source == r.Source && x.Detail == r.Detail && x.Exec == r.Exec {
			return
		}
	}
	if len(e.Reasons) < maxReasons {
		e.Reasons = append(e.Reasons, r)
	}
}

// List returns the sorted list. Regular files that share an inode become
// one File (the first name in order) and Hardlink entries to it.
func (b *Builder) List() *List {
	l := &List{Root: b.res.Root(), Entries: make([]*Entry, 0, len(b.entries))}
	for _, e := range b.entries {
		l.Entries = append(l.Entries, e)
	}
	sort.Slice(l.Entries, func(i, j int) bool { return l.Entries[i].Path < l.Entries[j].Path })
	type inode struct{ dev, ino uint64 }
	first := map[inode]*Entry{}
	for _, e := range l.Entries {
		if (e.Kind != File && e.Kind != Hardlink) || e.nlink < 2 {
			continue
		}
		k := inode{e.dev, e.ino}
		if f, ok := first[k]; ok {
			e.Kind, e.Target, e.Size = Hardlink, f.Path, 0
			continue
		}
		e.Kind, e.Target = File, ""
		first[k] = e
	}
	return l
}
