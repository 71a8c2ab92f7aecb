package scratchpack

// Unit is one package or language unit that the image keeps in part or
// whole: a dpkg or apk package, a Python top-level import package, an npm
// package, a gem, a Perl namespace. The report's Cut table lists them,
// most-cut first; inspect and the HTML report show it.
type Unit struct {
	Kind string `json:"kind"` // deb, apk, python, node, ruby, perl
	Name string `json:"name"`
	// Files and bytes: what the image keeps of the unit, and what the
	// unit holds in the source root.
	KeptFiles  int   `json:"kept_files"`
	TotalFiles int   `json:"total_files"`
	KeptBytes  int64 `json:"kept_bytes"`
	TotalBytes int64 `json:"total_bytes"`
	// The language's own units (modules, packages, gems) where it has
	// them: "modules" for python, and so on; "" for OS packages.
	UnitName   string `json:"unit_name,omitempty"`
	KeptUnits  int    `json:"kept_units,omitempty"`
	TotalUnits int    `json:"total_units,omitempty"`
	// What --complete added to it: files and bytes.
	AddedFiles int   `json:"added_files,omitempty"`
	AddedBytes int64 `json:"added_bytes,omitempty"`
}
