package pkgmeta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/sbomcheck"
)

// sbomFixture: the merged-/usr root, a kept list with metadata, and
// its digests.
func sbomFixture(t *testing.T) (*Result, []Digest, map[string]string) {
	t.Helper()
	db, res := open(t, mergedUsrRoot(t))
	l := keptList(t, res, "/lib/x86_64-linux-gnu/libc.so.6", "/bin/tool.real", "/usr/bin/awk", "/usr/bin/app")
	r, err := Analyze(context.Background(), db, l)
	if err != nil {
		t.Fatal(err)
	}
	b := l.Extend(res)
	if err := r.Apply(context.Background(), b, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	out := b.List()
	digests, err := HashEntries(context.Background(), res, out.Entries)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, e := range out.Entries {
		if e.Kind != "file" {
			continue
		}
		data := e.Data
		if data == nil {
			if data, err = os.ReadFile(res.HostPath(e.Path)); err != nil {
				t.Fatal(err)
			}
		}
		sum := sha256.Sum256(data)
		want[e.Path] = hex.EncodeToString(sum[:])
	}
	return r, digests, want
}

func TestSPDX(t *testing.T) {
	r, digests, want := sbomFixture(t)
	opts := SBOMOptions{Name: "rootfs.tar.gz", Time: time.Unix(1700000000, 0), Tool: "scratchpack-test"}
	data, err := r.WriteSBOM(digests, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sbomcheck.Validate(SPDX, data); err != nil {
		t.Fatalf("SPDX 2.3 schema: %v\n%s", err, data)
	}
	again, _ := r.WriteSBOM(digests, opts)
	if !bytes.Equal(data, again) {
		t.Fatal("two SBOMs of the same files differ")
	}
	var doc struct {
		Namespace string `json:"documentNamespace"`
		Created   struct {
			Created string `json:"created"`
		} `json:"creationInfo"`
		Packages []struct {
			ID, Name, Version, License, Source string
			Refs                               []struct{ ReferenceLocator string } `json:"externalRefs"`
		} `json:"packages"`
		Files []struct {
			ID        string `json:"SPDXID"`
			Name      string `json:"fileName"`
			Checksums []struct{ Algorithm, ChecksumValue string }
		} `json:"files"`
		Relationships []struct {
			A    string `json:"spdxElementId"`
			B    string `json:"relatedSpdxElement"`
			Type string `json:"relationshipType"`
		} `json:"relationships"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Created.Created != "2023-11-14T22:13:20Z" || !strings.HasPrefix(doc.Namespace, "https://scratchpack.invalid/spdx/rootfs.tar.gz-") {
		t.Errorf("created %q, namespace %q", doc.Created.Created, doc.Namespace)
	}
	var purls []string
	for _, p := range doc.Packages {
		for _, ref := range p.Refs {
			purls = append(purls, ref.ReferenceLocator)
		}
	}
	if got := strings.Join(purls, " "); got != "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64&distro=debian-12&upstream=glibc pkg:deb/debian/tool@1.0-1?arch=amd64&distro=debian-12" {
		t.Errorf("purls: %s", got)
	}
	contains := map[string]string{}
	for _, rel := range doc.Relationships {
		if rel.Type == "CONTAINS" {
			contains[rel.B] = rel.A
		}
	}
	files := map[string]string{}
	for _, f := range doc.Files {
		for _, c := range f.Checksums {
			if c.Algorithm == "SHA256" {
				files[strings.TrimPrefix(f.Name, ".")] = c.ChecksumValue
			}
		}
		owner := contains[f.ID]
		switch strings.TrimPrefix(f.Name, ".") {
		case "/usr/lib/x86_64-linux-gnu/libc.so.6":
			if owner != "SPDXRef-Package-dpkg-libc6-amd64" {
				t.Errorf("libc.so.6 is contained by %q", owner)
			}
		case "/usr/bin/app", "/usr/bin/gawk":
			if owner != "SPDXRef-rootfs" {
				t.Errorf("%s (no package) is contained by %q", f.Name, owner)
			}
		}
	}
	if len(files) != len(want) {
		t.Errorf("%d files in the SBOM, %d packed", len(files), len(want))
	}
	for p, sum := range want {
		if files[p] != sum {
			t.Errorf("%s: SBOM sha256 %q, file's %s", p, files[p], sum)
		}
	}
	// another content, another namespace
	digests[0].SHA256 = strings.Repeat("0", 64)
	other, _ := r.WriteSBOM(digests, opts)
	var doc2 struct {
		Namespace string `json:"documentNamespace"`
	}
	json.Unmarshal(other, &doc2)
	if doc2.Namespace == doc.Namespace {
		t.Error("the namespace does not change with the content")
	}
}

func TestCycloneDX(t *testing.T) {
	r, digests, want := sbomFixture(t)
	opts := SBOMOptions{Format: CycloneDX, Name: "rootfs.tar.gz", Time: time.Unix(1700000000, 0), Tool: "scratchpack-test"}
	data, err := r.WriteSBOM(digests, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sbomcheck.Validate(CycloneDX, data); err != nil {
		t.Fatalf("CycloneDX 1.5 schema: %v\n%s", err, data)
	}
	again, _ := r.WriteSBOM(digests, opts)
	if !bytes.Equal(data, again) {
		t.Fatal("two SBOMs of the same files differ")
	}
	type comp struct {
		Type, Name, Version, Purl string
		Hashes                    []struct{ Alg, Content string }
		Components                []comp
		Licenses                  []struct{ Expression string }
	}
	var bom struct {
		SpecVersion, SerialNumber string
		Metadata                  struct{ Timestamp string }
		Components                []comp
	}
	if err := json.Unmarshal(data, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != "1.5" || !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") || bom.Metadata.Timestamp != "2023-11-14T22:13:20Z" {
		t.Errorf("spec %s serial %s time %s", bom.SpecVersion, bom.SerialNumber, bom.Metadata.Timestamp)
	}
	files := map[string]string{}
	var pkgs []string
	var visit func(cs []comp, owner string)
	visit = func(cs []comp, owner string) {
		for _, c := range cs {
			if c.Type == "file" {
				for _, h := range c.Hashes {
					if h.Alg == "SHA-256" {
						files[c.Name] = h.Content
					}
				}
				if c.Name == "/usr/lib/x86_64-linux-gnu/libc.so.6" && owner != "libc6" {
					t.Errorf("libc.so.6 under %q", owner)
				}
				continue
			}
			pkgs = append(pkgs, c.Purl)
			if c.Name == "tool" && (len(c.Licenses) != 1 || c.Licenses[0].Expression != "GPL-2.0-or-later AND MIT") {
				t.Errorf("tool's licenses: %+v", c.Licenses)
			}
			visit(c.Components, c.Name)
		}
	}
	visit(bom.Components, "")
	if len(pkgs) != 2 || len(files) != len(want) {
		t.Errorf("packages %v, %d files (want %d)", pkgs, len(files), len(want))
	}
	for p, sum := range want {
		if files[p] != sum {
			t.Errorf("%s: SBOM sha256 %q, file's %s", p, files[p], sum)
		}
	}
}
