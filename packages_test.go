package scratchpack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/sbomcheck"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/tarball"
)

// syftPath finds Syft: $SYFT, /opt/scratchpack/bin/syft (where
// scripts/deps.sh installs it) or PATH.
func syftPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("SYFT"), "/opt/scratchpack/bin/syft"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	testenv.Need(t, "syft")
	p, _ := exec.LookPath("syft")
	return p
}

// syftScan is what Syft reports of a directory or an image archive:
// its deb packages (name -> version), those of them read from a dpkg
// database, and the distro it detected.
type syftScan struct {
	Debs   map[string]string
	FromDB map[string]string // found by the dpkg-db-cataloger
	Distro string            // "debian 12.11"
}

func runSyft(t *testing.T, syft, source string) syftScan {
	t.Helper()
	cmd := exec.Command(syft, "scan", source, "-o", "syft-json", "-q")
	cmd.Env = append(os.Environ(), "SYFT_CHECK_FOR_APP_UPDATE=false", "SYFT_CACHE_DIR="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("syft scan %s: %v\n%s", source, err, stderr.String())
	}
	var doc struct {
		Artifacts []struct {
			Name, Version, Type string
			FoundBy             string `json:"foundBy"`
		}
		Distro struct {
			ID        string `json:"id"`
			VersionID string `json:"versionID"`
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("syft's JSON: %v", err)
	}
	s := syftScan{Debs: map[string]string{}, FromDB: map[string]string{}, Distro: strings.TrimSpace(doc.Distro.ID + " " + doc.Distro.VersionID)}
	for _, a := range doc.Artifacts {
		if a.Type == "deb" {
			if v, ok := s.Debs[a.Name]; ok && v != a.Version {
				t.Errorf("syft reports %s twice: %s and %s", a.Name, v, a.Version)
			}
			s.Debs[a.Name] = a.Version
			if a.FoundBy == "dpkg-db-cataloger" {
				s.FromDB[a.Name] = a.Version
			}
		}
	}
	return s
}

// hostVersions asks dpkg-query for the installed versions of packages.
func hostVersions(t *testing.T, names []string) map[string]string {
	t.Helper()
	out, err := exec.Command("dpkg-query", append([]string{"-W", "-f", "${Package}\t${Version}\n"}, names...)...).Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	v := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		n, ver, _ := strings.Cut(l, "\t")
		v[n] = ver
	}
	return v
}

// examples are the repository's examples (examples/), traced on this
// machine: fortune, the python app, nginx under a probe.
func examples(t *testing.T) map[string]func() BuildOptions {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	app, err := os.ReadFile("examples/python/app.py")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "app.py"), app, 0o755)
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www/index.html"), []byte("hello from a scratch image\n"), 0o644)
	return map[string]func() BuildOptions{
		"fortune": func() BuildOptions { return BuildOptions{Command: []string{"/usr/games/fortune"}} },
		"python":  func() BuildOptions { return BuildOptions{Command: []string{filepath.Join(dir, "app.py")}, Dir: dir} },
		"nginx": func() BuildOptions {
			port := freePort(t)
			conf := filepath.Join(dir, fmt.Sprintf("nginx-%d.conf", port))
			os.WriteFile(conf, []byte(fmt.Sprintf("daemon off;\nworker_processes 1;\nerror_log stderr;\npid %s/nginx-%d.pid;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n  server { listen 127.0.0.1:%d; root %s/www; }\n}\n", dir, port, port, dir)), 0o644)
			probe := fmt.Sprintf(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && printf "GET / HTTP/1.0\r\n\r\n" >&3 && grep -q scratch <&3'`, port)
			return BuildOptions{
				Command: []string{"/usr/sbin/nginx", "-c", conf},
				Trace:   tracer.Options{Probes: []string{probe}, Grace: 2 * time.Second, Stderr: io.Discard},
			}
		},
	}
}

// TestPackageMetadataSyft: for each example, Syft run on the extracted
// rootfs detects Debian 12 and reports exactly the packages that own
// kept files, with this machine's versions; the SBOM validates against
// the SPDX 2.3 schema, names the same packages and every packed file
// with its SHA-256, and its copy is in the image. With the metadata
// off, Syft reports no package.
func TestPackageMetadataSyft(t *testing.T) {
	needTools(t, "strace", "chroot", "tar", "dpkg-query", "/usr/games/fortune", "/usr/bin/python3", "/usr/sbin/nginx", "bash")
	syft := syftPath(t)
	epoch := time.Unix(1700000000, 0).UTC()
	exs := examples(t)
	for _, name := range []string{"fortune", "python", "nginx"} {
		t.Run(name, func(t *testing.T) {
			o := exs[name]()
			o.Pack.Epoch = &epoch
			sbomFile := filepath.Join(t.TempDir(), name+".spdx.json")
			o.Pack.SBOM = sbomFile
			root, r := build(t, o)
			res := r.Pack.Packages
			if res == nil || len(res.Packages) == 0 {
				t.Fatal("no packages found")
			}
			want := map[string]string{}
			var names []string
			for _, u := range res.Packages {
				want[u.Name] = u.Version
				names = append(names, u.Name)
			}
			if hv := hostVersions(t, names); fmt.Sprint(hv) != fmt.Sprint(want) {
				t.Errorf("versions %v, dpkg-query says %v", want, hv)
			}
			scan := runSyft(t, syft, "dir:"+root)
			// os-release's VERSION_ID with debian_version's point release
			if !strings.HasPrefix(scan.Distro, "debian 12") {
				t.Errorf("syft detects %q, want debian 12", scan.Distro)
			}
			if fmt.Sprint(scan.Debs) != fmt.Sprint(want) {
				t.Errorf("syft reports %v\nwant exactly %v", scan.Debs, want)
			}
			checkSBOM(t, sbomFile, r.Pack.Output, want)
			// the metadata's own files have their packages: base-files
			// for os-release and debian_version, each copyright file its
			// package (through doc-directory links too)
			if _, ok := want["base-files"]; !ok {
				t.Errorf("base-files (os-release, debian_version) is not listed: %v", names)
			}
			owners := sbomOwners(t, sbomFile)
			for _, p := range []string{"/usr/lib/os-release", "/etc/debian_version"} {
				if fmt.Sprint(owners[p]) != "[base-files]" {
					t.Errorf("the SBOM gives %s to %v, want base-files", p, owners[p])
				}
			}
			for p, o := range owners {
				if strings.HasPrefix(p, "/usr/share/doc/") && len(o) == 0 {
					t.Errorf("the SBOM gives %s to no package", p)
				}
			}
			inImage, err := os.ReadFile(filepath.Join(root, pkgmeta.ImagePath(pkgmeta.SPDX)))
			sbom, _ := os.ReadFile(sbomFile)
			if err != nil || !bytes.Equal(inImage, sbom) {
				t.Errorf("the SBOM copy in the image differs from %s (%v)", sbomFile, err)
			}

			off := exs[name]()
			off.Pack.Epoch = &epoch
			off.Pack.NoPackageMetadata = true
			offRoot, offR := build(t, off)
			// Syft still finds what ELF notes say (systemd's libraries
			// carry .note.package), but no package database
			if scan := runSyft(t, syft, "dir:"+offRoot); len(scan.FromDB) != 0 {
				t.Errorf("with the metadata off, syft reports %v from a dpkg database", scan.FromDB)
			} else if len(scan.Debs) > 0 {
				t.Logf("with the metadata off, syft still finds %v (not from a package database)", scan.Debs)
			}
			if _, err := os.Stat(filepath.Join(offRoot, "var/lib/dpkg")); err == nil {
				t.Error("with the metadata off, the image has /var/lib/dpkg")
			}
			t.Logf("%s: %d packages (%s); metadata %d files %d bytes, licenses %d files %d bytes; archive %d bytes without, %d with (+SBOM copy %d bytes)",
				name, len(names), strings.Join(names, " "), res.MetadataFiles, res.MetadataBytes, res.LicenseFiles, res.LicenseBytes,
				offR.Pack.Compressed, r.Pack.Compressed, len(sbom))
		})
	}
}

// checkSBOM validates an SPDX SBOM and compares it with the archive:
// the same packages, and every regular file with its SHA-256.
func checkSBOM(t *testing.T, sbomFile, archive string, want map[string]string) {
	t.Helper()
	data, err := os.ReadFile(sbomFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := sbomcheck.Validate("spdx", data); err != nil {
		t.Fatalf("%s does not validate against the SPDX 2.3 schema: %v", sbomFile, err)
	}
	var doc struct {
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"versionInfo"`
			ID      string `json:"SPDXID"`
		} `json:"packages"`
		Files []struct {
			Name      string `json:"fileName"`
			Checksums []struct{ Algorithm, ChecksumValue string }
		} `json:"files"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range doc.Packages {
		if p.ID != "SPDXRef-rootfs" {
			got[p.Name] = p.Version
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("SBOM packages %v, want %v", got, want)
	}
	files := map[string]string{}
	for _, f := range doc.Files {
		for _, c := range f.Checksums {
			if c.Algorithm == "SHA256" {
				files[strings.TrimPrefix(f.Name, ".")] = c.ChecksumValue
			}
		}
	}
	r, err := tarball.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in, err := tarball.Inspect(context.Background(), r, 0)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	var missing []string
	n := 0
	for _, m := range in.Members {
		sum := m.SHA256
		switch m.Kind {
		case "file":
			sums[m.Path] = sum
		case "hardlink":
			sum = sums[m.Linkname]
		default:
			continue
		}
		if m.Path == pkgmeta.ImagePath(pkgmeta.SPDX) {
			continue // the copy does not list itself
		}
		n++
		if files[m.Path] != sum {
			missing = append(missing, fmt.Sprintf("%s: SBOM %q, archive %s", m.Path, files[m.Path], sum))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 || n != len(files) {
		t.Errorf("SBOM files (%d) against the archive's (%d):\n%s", len(files), n, strings.Join(missing, "\n"))
	}
}

// sbomOwners reads the packages an SPDX SBOM gives each file to (by
// CONTAINS relationships); a file of no package maps to none.
func sbomOwners(t *testing.T, sbomFile string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(sbomFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Packages []struct {
			Name string `json:"name"`
			ID   string `json:"SPDXID"`
		} `json:"packages"`
		Files []struct {
			Name string `json:"fileName"`
			ID   string `json:"SPDXID"`
		} `json:"files"`
		Relationships []struct {
			From string `json:"spdxElementId"`
			To   string `json:"relatedSpdxElement"`
			Type string `json:"relationshipType"`
		} `json:"relationships"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]string{}
	for _, p := range doc.Packages {
		if p.ID != "SPDXRef-rootfs" {
			pkgs[p.ID] = p.Name
		}
	}
	files := map[string]string{}
	out := map[string][]string{}
	for _, f := range doc.Files {
		p := strings.TrimPrefix(f.Name, ".")
		files[f.ID] = p
		out[p] = nil
	}
	for _, r := range doc.Relationships {
		if p, ok := files[r.To]; ok && r.Type == "CONTAINS" && pkgs[r.From] != "" {
			out[p] = append(out[p], pkgs[r.From])
		}
	}
	return out
}
