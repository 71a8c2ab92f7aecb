package scratchpack

import (
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func testSource() *SourceImage {
	return &SourceImage{
		Ref: "oci:layout:1.0", Name: "oci:layout:1.0", Digest: "sha256:abc",
		Config: v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{
			Entrypoint:   []string{"/bin/sh", "/app.sh"},
			Cmd:          []string{"--serve"},
			Env:          []string{"PATH=/usr/bin:/bin", "MODE=prod"},
			WorkingDir:   "/srv",
			User:         "app:app",
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Volumes:      map[string]struct{}{"/data": {}},
			Labels:       map[string]string{"team": "a", "tier": "web"},
			StopSignal:   "SIGINT",
			Healthcheck:  &v1.HealthConfig{Test: []string{"CMD", "/bin/true"}, Interval: 30 * time.Second, Retries: 3},
		}},
	}
}

// TestWithBase: the result's config is the source image's, the options'
// own on top (env by key, labels by key, ports added).
func TestWithBase(t *testing.T) {
	p := PackOptions{Env: []string{"MODE=test"}, Image: ImageOptions{Labels: []string{"tier=api"}, Ports: []string{"9090/tcp"}}}
	got := p.withBase(testSource())
	if want := []string{"--serve"}; !reflect.DeepEqual(got.Cmd, want) {
		t.Errorf("Cmd = %q, want %q", got.Cmd, want)
	}
	if want := []string{"PATH=/usr/bin:/bin", "MODE=test"}; !reflect.DeepEqual(got.Env, want) {
		t.Errorf("Env = %q, want %q", got.Env, want)
	}
	if got.Workdir != "/srv" || got.Image.User != "app:app" {
		t.Errorf("Workdir, User = %q, %q", got.Workdir, got.Image.User)
	}
	if want := []string{"8080/tcp", "9090/tcp"}; !reflect.DeepEqual(got.Image.Ports, want) {
		t.Errorf("Ports = %q, want %q", got.Image.Ports, want)
	}
	if want := []string{"team=a", "tier=web", "tier=api"}; !reflect.DeepEqual(got.Image.Labels, want) {
		t.Errorf("Labels = %q, want %q", got.Image.Labels, want)
	}
	b := got.Image.Base
	if b == nil || b.Digest != "sha256:abc" || b.StopSignal != "SIGINT" || !reflect.DeepEqual(b.Volumes, []string{"/data"}) || b.Platform.Architecture != "amd64" {
		t.Errorf("Base = %+v", b)
	}
	// the options' own win
	p2 := PackOptions{Cmd: []string{"--other"}, Workdir: "/w", Image: ImageOptions{User: "0"}}
	got = p2.withBase(testSource())
	if got.Cmd[0] != "--other" || got.Workdir != "/w" || got.Image.User != "0" {
		t.Errorf("overrides lost: %q %q %q", got.Cmd, got.Workdir, got.Image.User)
	}
}

// TestBaseDockerfile: the Dockerfile carries the same config.
func TestBaseDockerfile(t *testing.T) {
	p := PackOptions{}.withBase(testSource())
	df := baseDockerfile("rootfs.tar.gz", p)
	for _, want := range []string{
		"FROM scratch\nADD rootfs.tar.gz /\n",
		`ENV MODE="prod"`,
		`LABEL "tier"="web"`,
		`LABEL "org.opencontainers.image.base.digest"="sha256:abc"`,
		"EXPOSE 8080/tcp\n",
		`VOLUME ["/data"]`,
		"WORKDIR /srv\n",
		"USER app:app\n",
		"STOPSIGNAL SIGINT\n",
		`HEALTHCHECK --interval=30s --retries=3 CMD ["/bin/true"]`,
		`ENTRYPOINT ["/bin/sh","/app.sh"]`,
		`CMD ["--serve"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q:\n%s", want, df)
		}
	}
}
