package elfdeps

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pkg/errors"
)

// The glibc loader cache (/etc/ld.so.cache), as written by ldconfig.
//
// New format: "glibc-ld.so.cache" "1.1", then nlibs and the length of
// the string table (uint32), flags (uint8) and 3 bytes of padding, the
// offset of the extension section and 3 unused uint32: 48 bytes. Then
// nlibs entries of 24 bytes: flags (int32), key and value (uint32 offsets
// of the soname and the path from the start of the file), osversion
// (uint32), hwcap (uint64). An old-format table ("ld.so-1.7.0", 12-byte
// entries) may come first.
const (
	cacheMagicNew = "glibc-ld.so.cache1.1"
	cacheMagicOld = "ld.so-1.7.0"
	newHeaderLen  = 48
	newEntryLen   = 24
	oldEntryLen   = 12

	// flagRequiredMask selects the architecture bits of an entry's flags.
	flagRequiredMask = 0xff00
	// hwcapExtension marks entries for glibc-hwcaps subdirectories.
	hwcapExtension = uint64(1) << 62
)

// CacheEntry is one library of the loader cache.
type CacheEntry struct {
	Name  string // soname
	Path  string
	Flags int32
	HWCap uint64
}

// Cache is a parsed ld.so.cache.
type Cache struct {
	Entries []CacheEntry
	byName  map[string][]int
}

// MaxCacheBytes bounds the size of a cache file read.
const MaxCacheBytes = 64 << 20

// ReadCache reads and parses a cache file.
func ReadCache(name string) (*Cache, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, errors.Wrap(err, "reading the loader cache")
	}
	if st.Size() > MaxCacheBytes {
		return nil, errors.Errorf("%s: %d bytes is too large for a loader cache", name, st.Size())
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, errors.Wrap(err, "reading the loader cache")
	}
	c, err := ParseCache(data)
	if err != nil {
		return nil, errors.WithMessage(err, name)
	}
	return c, nil
}

// ParseCache parses the bytes of an ld.so.cache file (little-endian).
func ParseCache(data []byte) (*Cache, error) {
	off := 0
	if bytes.HasPrefix(data, []byte(cacheMagicOld)) {
		if len(data) < len(cacheMagicOld)+1+4 {
			return nil, errors.New("truncated old-format header")
		}
		// magic[11], then nlibs as uint32 aligned at 12
		n := int(binary.LittleEndian.Uint32(data[12:16]))
		if n < 0 || n > len(data)/oldEntryLen {
			return nil, errors.Errorf("old-format table claims %d entries", n)
		}
		off = 16 + n*oldEntryLen
		off = (off + 7) &^ 7 // the new table is aligned
		if off > len(data) || !bytes.HasPrefix(data[off:], []byte(cacheMagicNew)) {
			return nil, errors.New("old-format cache without a new-format table: not supported")
		}
	}
	if !bytes.HasPrefix(data[off:], []byte(cacheMagicNew)) {
		return nil, errors.Errorf("not a loader cache (expected %q at byte %d)", cacheMagicNew, off)
	}
	if len(data)-off < newHeaderLen {
		return nil, errors.New("truncated header")
	}
	hdr := data[off:]
	nlibs := binary.LittleEndian.Uint32(hdr[20:24])
	if uint64(nlibs)*newEntryLen > uint64(len(hdr)-newHeaderLen) {
		return nil, errors.Errorf("header claims %d entries but the file holds at most %d", nlibs, (len(hdr)-newHeaderLen)/newEntryLen)
	}
	str := func(o uint32) (string, error) {
		if int(o) >= len(data) {
			return "", errors.Errorf("string offset %d is beyond the end of the file", o)
		}
		end := bytes.IndexByte(data[o:], 0)
		if end < 0 {
			return "", errors.Errorf("string at offset %d is not terminated", o)
		}
		return string(data[o : int(o)+end]), nil
	}
	c := &Cache{byName: map[string][]int{}}
	for i := 0; i < int(nlibs); i++ {
		e := hdr[newHeaderLen+i*newEntryLen:]
		flags := int32(binary.LittleEndian.Uint32(e[0:4]))
		name, err := str(binary.LittleEndian.Uint32(e[4:8]))
		if err != nil {
			return nil, errors.WithMessagef(err, "entry %d name", i)
		}
		p, err := str(binary.LittleEndian.Uint32(e[8:12]))
		if err != nil {
			return nil, errors.WithMessagef(err, "entry %d path", i)
		}
		c.byName[name] = append(c.byName[name], len(c.Entries))
		c.Entries = append(c.Entries, CacheEntry{Name: name, Path: p, Flags: flags, HWCap: binary.LittleEndian.Uint64(e[16:24])})
	}
	return c, nil
}

// Lookup returns the cache's paths for a soname, in the cache's order
// (ldconfig sorts the best first), for entries of the given architecture
// flags (see archFlags) and without a glibc-hwcaps extension.
func (c *Cache) Lookup(name string, arch int32) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, i := range c.byName[name] {
		e := c.Entries[i]
		if e.Flags&flagRequiredMask != arch&flagRequiredMask || e.HWCap&hwcapExtension != 0 {
			continue
		}
		out = append(out, e.Path)
	}
	return out
}

// ReadConf reads ld.so.conf and its includes (globs, relative to the
// including file's directory), inside a root, and returns the
// directories in order. Missing includes are skipped, as ldconfig does.
func ReadConf(root, name string) ([]string, error) {
	var dirs []string
	seen := map[string]bool{}
	var read func(name string, depth int) error
	read = func(name string, depth int) error {
		if depth > 16 || seen[name] {
			return nil
		}
		seen[name] = true
		f, err := os.Open(filepath.Join(root, name))
		if err != nil {
			if os.IsNotExist(err) && depth > 0 {
				return nil
			}
			return errors.Wrap(err, "reading loader configuration")
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			if fields[0] == "include" {
				for _, pat := range fields[1:] {
					if !strings.HasPrefix(pat, "/") {
						pat = path.Join(path.Dir(name), pat)
					}
					matches, _ := filepath.Glob(filepath.Join(root, pat))
					sort.Strings(matches)
					for _, m := range matches {
						rel := "/" + strings.TrimPrefix(strings.TrimPrefix(m, root), "/")
						if err := read(rel, depth+1); err != nil {
							return err
						}
					}
				}
				continue
			}
			if fields[0] == "hwcap" {
				continue
			}
			for _, d := range fields {
				d = strings.TrimRight(d, "/")
				if strings.HasPrefix(d, "/") && !contains(dirs, d) {
					dirs = append(dirs, d)
				}
			}
		}
		return sc.Err()
	}
	err := read(name, 0)
	return dirs, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
