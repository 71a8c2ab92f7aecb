package cli

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/sbomcheck"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/tarball"
)

// TestPackPackageFlags: pack keeps the package metadata by default,
// --sbom-format cyclonedx writes a CycloneDX 1.5 SBOM (and its copy in
// the image), --package-metadata=false leaves both out, and inspect
// shows each package's files.
func TestPackPackageFlags(t *testing.T) {
	testenv.Need(t, "tar", "/usr/games/fortune", "dpkg-query")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "l.txt"), []byte("/usr/games/fortune\n/usr/share/games/fortunes/fortunes\n"), 0o644)
	code, _, stderr := run(t, dir, "pack", "-o", "on.tar.gz", "--files", "l.txt", "--sbom", "on.cdx.json", "--sbom-format", "cyclonedx")
	if code != 0 || !strings.Contains(stderr, "fortune-mod") || !strings.Contains(stderr, "added: metadata") {
		t.Fatalf("pack: exit %d\n%s", code, stderr)
	}
	entries := sh(t, dir, "tar", "-tzf", "on.tar.gz")
	for _, want := range []string{"var/lib/dpkg/status.d/fortune-mod\n", "var/lib/dpkg/status.d/fortunes-min.md5sums\n", "etc/os-release\n", "usr/share/doc/fortune-mod/copyright\n", "usr/share/sbom/scratchpack.cdx.json\n"} {
		if !strings.Contains(entries, want) {
			t.Errorf("the archive lacks %s", want)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "on.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sbomcheck.Validate("cyclonedx", data); err != nil {
		t.Errorf("the CycloneDX SBOM does not validate: %v", err)
	}
	code, js, _ := run(t, dir, "inspect", "--json", "on.tar.gz")
	var in struct {
		Packages []struct {
			Name  string
			Files int
			Bytes int64
		}
	}
	if err := json.Unmarshal([]byte(js), &in); err != nil || code != 0 {
		t.Fatalf("inspect --json: %v\n%s", err, js)
	}
	// fortune-mod's files in the image: the program and its copyright
	// file (the metadata's files are their packages' too)
	fortune, _ := os.Stat("/usr/games/fortune")
	copyright, _ := os.Stat("/usr/share/doc/fortune-mod/copyright")
	found := false
	for _, p := range in.Packages {
		if p.Name == "fortune-mod" && p.Files == 2 && p.Bytes == fortune.Size()+copyright.Size() {
			found = true
		}
	}
	if !found {
		t.Errorf("inspect: fortune-mod with 2 files of %d bytes not in %+v", fortune.Size()+copyright.Size(), in.Packages)
	}
	if code, out, _ := run(t, dir, "inspect", "on.tar.gz"); code != 0 || !strings.Contains(out, "packages (") || !strings.Contains(out, "fortune-mod") {
		t.Errorf("inspect: %d\n%s", code, out)
	}

	code, _, stderr = run(t, dir, "pack", "-o", "off.tar.gz", "--files", "l.txt", "--package-metadata=false", "--sbom", "off.spdx.json")
	if code != 0 {
		t.Fatalf("pack --package-metadata=false: exit %d\n%s", code, stderr)
	}
	entries = sh(t, dir, "tar", "-tzf", "off.tar.gz")
	if strings.Contains(entries, "var/lib/dpkg") || strings.Contains(entries, "usr/share/sbom") || strings.Contains(entries, "usr/share/doc") {
		t.Errorf("--package-metadata=false still adds metadata:\n%s", entries)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "off.spdx.json")); err != nil || sbomcheck.Validate("spdx", data) != nil {
		t.Errorf("the SPDX SBOM (written even without the metadata): %v", err)
	}
	// an image written without an archive file gets the metadata too
	code, _, stderr = run(t, dir, "pack", "--files", "l.txt", "--image", "docker-archive:img.tar:fortune:v1", "--cmd", `["/usr/games/fortune"]`)
	if code != 0 {
		t.Fatalf("pack --image: exit %d\n%s", code, stderr)
	}
	if names := layerNames(t, filepath.Join(dir, "img.tar")); !names["var/lib/dpkg/status.d/fortune-mod"] || !names["usr/share/doc/fortune-mod/copyright"] {
		t.Errorf("the image's layer lacks the package metadata: %d entries", len(names))
	}
	if code, _, stderr := run(t, dir, "pack", "-o", "x.tar.gz", "--files", "l.txt", "--sbom-format", "swid"); code != 2 || !strings.Contains(stderr, "expected spdx") {
		t.Errorf("--sbom-format swid: %d %s", code, stderr)
	}
}

// layerNames lists the entries of the one layer of a docker-archive.
func layerNames(t *testing.T, archive string) map[string]bool {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		files[h.Name] = data
	}
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 || len(manifest[0].Layers) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	r, err := tarball.NewReader(bytes.NewReader(files[manifest[0].Layers[0]]))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = true
	}
	return names
}
