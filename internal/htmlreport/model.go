package htmlreport

// Page is everything the page shows.
type Page struct {
	Title   string // the archive or image the page is about
	Version string // scratchpack's version, in the footer
	Command string // the traced command, "" when unknown
	Facts   []Fact // short key/value lines under the title
	Files   int    // regular files in the image
	Bytes   int64  // their bytes, uncompressed
	Links   int    // symlinks and hardlinks
	Packed  int64  // the compressed archive's size (0: unknown)
	Sizes   []Size // what the image was made from, against the result
	// SizesNote says what the sizes leave out ("the root was the host's").
	SizesNote string
	Packages  []Package
	// Unowned counts the files and bytes no package owns.
	UnownedFiles int
	UnownedBytes int64
	Cut          []Unit // the units kept in part or whole, most cut first
	Entries      []File // every file and link of the image
	// NoReasons says why the entries have no reasons (no build report).
	NoReasons string
	Secrets   []Secret
	// Scanned is whether the secret scan ran (false: no findings known,
	// and SecretsNote says why); SecretsExcluded that the files of the
	// findings were left out of the image (--secrets exclude).
	Scanned         bool
	SecretsExcluded bool
	SecretsNote     string
	// Warnings are shown above everything (a report that does not match
	// its archive).
	Warnings []string
}

// Fact is one labelled line of the header ("collector: strace").
type Fact struct{ Label, Value string }

// Size is one bar of the sizes chart: "source root", "packages whole",
// "image", "compressed".
type Size struct {
	Label string
	Bytes int64
	Files int // 0: not counted
	// Result marks the bar of the result (drawn in the accent colour).
	Result bool
}

// Package is an OS package the image keeps files of.
type Package struct {
	Name, Version, Kind string // Kind: deb, apk
	Files               int
	Bytes               int64
	License             string
	// TotalFiles and TotalBytes are the whole package's, when the cut
	// table has it (0: unknown).
	TotalFiles int
	TotalBytes int64
}

// Unit is a row of the cut table: a package or language unit kept in
// part or whole (see scratchpack.Unit).
type Unit struct {
	Kind, Name            string
	KeptFiles, TotalFiles int
	KeptBytes, TotalBytes int64
	UnitName              string
	KeptUnits, TotalUnits int
	AddedFiles            int
	AddedBytes            int64
}

// File is one file or link of the image.
type File struct {
	Path    string
	Kind    string // file, symlink, hardlink
	Size    int64
	Target  string // a link's target
	Package string // the owning package, "" for none
	Reasons []Reason
}

// Reason is why a file is there, sorted into a Class: traced, elf,
// interp, set, include, complete, link, metadata, list, other.
type Reason struct {
	Class string
	Text  string
}

// Secret is one secret-scan finding: where and what, never the secret.
type Secret struct {
	Path   string
	Line   int
	Kind   string
	Detail string
}
