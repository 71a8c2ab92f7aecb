package image

import (
	"debug/elf"
	"os"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// DefaultPath is the PATH that docker and podman give a FROM scratch
// image built from a Dockerfile without ENV PATH.
const DefaultPath = rootpath.DefaultPath

// The org.opencontainers.image annotations (image-spec annotations.md).
const (
	AnnotationCreated  = "org.opencontainers.image.created"
	AnnotationSource   = "org.opencontainers.image.source"
	AnnotationRevision = "org.opencontainers.image.revision"
	// The image a result was made from (build --from).
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
	annotationPrefix     = "org.opencontainers.image."
	refNameAnnotation    = "org.opencontainers.image.ref.name"
)

// Config is what the image's config says about running it.
type Config struct {
	// Cmd is the command in exec form (the image has no shell).
	Cmd []string
	// Entrypoint, Volumes, StopSignal and Healthcheck are those of the
	// image a result was made from (build --from); Cmd may then be empty.
	Entrypoint  []string
	Volumes     []string
	StopSignal  string
	Healthcheck *v1.HealthConfig
	// Annotations are manifest annotations besides those of the labels
	// (org.opencontainers.image.base.name, base.digest).
	Annotations map[string]string
	// Env is KEY=VALUE; PATH is DefaultPath unless one is given.
	Env        []string
	WorkingDir string
	User       string
	// Ports are exposed ports, PORT[/PROTO] (tcp when no protocol).
	Ports []string
	// Labels; the org.opencontainers.image.* ones are also manifest
	// annotations.
	Labels map[string]string
	// Created is the image's creation time (SOURCE_DATE_EPOCH): the config's
	// created and the created label. Nil: 1970-01-01 and no label, so the
	// digest never depends on the clock.
	Created *time.Time
	// Source and Revision, when set, become the source and revision labels.
	Source, Revision string
	Platform         Platform
}

// Platform is what the image runs on.
type Platform struct {
	OS, Architecture, Variant string
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// ParsePort checks a --port value: PORT or PORT/tcp, /udp, /sctp. It
// returns the config's form, PORT/PROTO.
func ParsePort(s string) (string, error) {
	port, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return "", errors.Errorf("--port %q: expected a port number from 1 to 65535, optionally /tcp, /udp or /sctp", s)
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return "", errors.Errorf("--port %q: unknown protocol %q: expected tcp, udp or sctp", s, proto)
	}
	return port + "/" + proto, nil
}

// ParseLabel checks a --label value: KEY=VALUE with a non-empty key.
func ParseLabel(s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t\n") {
		return "", "", errors.Errorf("--label %q: expected KEY=VALUE, with no spaces in KEY", s)
	}
	return k, v, nil
}

// configFile makes the image config (without the rootfs, which
// mutate fills in) and the manifest annotations.
func (c Config) configFile() (*v1.ConfigFile, map[string]string, error) {
	if len(c.Cmd) == 0 && len(c.Entrypoint) == 0 {
		return nil, nil, errors.New("the image needs a command (--cmd)")
	}
	if c.Platform.OS == "" || c.Platform.Architecture == "" {
		return nil, nil, errors.New("the image needs an os and an architecture")
	}
	created := time.Unix(0, 0).UTC()
	labels := map[string]string{}
	if c.Created != nil {
		created = c.Created.UTC()
		labels[AnnotationCreated] = created.Format(time.RFC3339)
	}
	if c.Source != "" {
		labels[AnnotationSource] = c.Source
	}
	if c.Revision != "" {
		labels[AnnotationRevision] = c.Revision
	}
	for k, v := range c.Labels {
		labels[k] = v
	}
	env := append([]string{}, c.Env...)
	hasPath := false
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			hasPath = true
		}
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, nil, errors.Errorf("environment %q: expected KEY=VALUE", kv)
		}
	}
	if !hasPath {
		env = append([]string{"PATH=" + DefaultPath}, env...)
	}
	cf := &v1.ConfigFile{
		Architecture: c.Platform.Architecture,
		OS:           c.Platform.OS,
		Variant:      c.Platform.Variant,
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			Entrypoint:  c.Entrypoint,
			Cmd:         c.Cmd,
			Env:         env,
			WorkingDir:  c.WorkingDir,
			User:        c.User,
			StopSignal:  c.StopSignal,
			Healthcheck: c.Healthcheck,
		},
	}
	if len(c.Volumes) > 0 {
		cf.Config.Volumes = map[string]struct{}{}
		for _, v := range c.Volumes {
			cf.Config.Volumes[v] = struct{}{}
		}
	}
	if len(labels) > 0 {
		cf.Config.Labels = labels
	}
	if len(c.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range c.Ports {
			pp, err := ParsePort(p)
			if err != nil {
				return nil, nil, err
			}
			cf.Config.ExposedPorts[pp] = struct{}{}
		}
	}
	annotations := map[string]string{}
	for k, v := range c.Annotations {
		annotations[k] = v
	}
	for k, v := range labels {
		if strings.HasPrefix(k, annotationPrefix) && k != refNameAnnotation {
			annotations[k] = v
		}
	}
	return cf, annotations, nil
}

// PlatformOf reads the os and architecture an ELF program runs on.
func PlatformOf(path string) (Platform, error) {
	f, err := os.Open(path)
	if err != nil {
		return Platform{}, errors.Wrap(err, "reading the program's platform")
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return Platform{}, errors.Wrapf(err, "%s: not an ELF program (expected one to tell the image's architecture)", path)
	}
	defer ef.Close()
	switch ef.OSABI {
	case elf.ELFOSABI_NONE, elf.ELFOSABI_LINUX:
	default:
		return Platform{}, errors.Errorf("%s: built for %s, expected a Linux program", path, ef.OSABI)
	}
	p := Platform{OS: "linux"}
	le := ef.ByteOrder.String() == "LittleEndian"
	is64 := ef.Class == elf.ELFCLASS64
	switch ef.Machine {
	case elf.EM_X86_64:
		p.Architecture = "amd64"
	case elf.EM_386:
		p.Architecture = "386"
	case elf.EM_AARCH64:
		p.Architecture, p.Variant = "arm64", "v8"
	case elf.EM_ARM:
		p.Architecture = "arm" // the variant (v5, v6, v7) is not in the ELF header
	case elf.EM_PPC64:
		p.Architecture = map[bool]string{true: "ppc64le", false: "ppc64"}[le]
	case elf.EM_S390:
		if is64 {
			p.Architecture = "s390x"
		}
	case elf.EM_RISCV:
		if is64 {
			p.Architecture = "riscv64"
		}
	case elf.EM_LOONGARCH:
		if is64 {
			p.Architecture = "loong64"
		}
	case elf.EM_MIPS:
		p.Architecture = map[bool]string{true: "mips", false: "mips64"}[!is64]
		if le {
			p.Architecture += "le"
		}
	}
	if p.Architecture == "" {
		return Platform{}, errors.Errorf("%s: %s %s is not an architecture container images know", path, ef.Class, ef.Machine)
	}
	return p, nil
}
