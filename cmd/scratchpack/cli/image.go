package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/image"
	"github.com/scratchpack/scratchpack/image/source"
)

// imageFlags are the flags of the container images pack and build write.
type imageFlags struct {
	dests            []string
	ports, labels    []string
	source, revision string
	insecure         bool
	// user is the --user of the path flags (the users set), set by the command.
	user string
	// from: build --from (which reads a registry too) was given.
	from bool
}

func (i *imageFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&i.dests, "image", nil, "also write a container image, no engine needed (repeatable): oci:DIR[:TAG] (OCI layout), docker-archive:FILE[:NAME:TAG] (docker/podman load), docker://REGISTRY/REPO:TAG (push)")
	f.StringArrayVar(&i.ports, "port", nil, "a port the image exposes, PORT[/tcp|udp|sctp] (repeatable)")
	f.StringArrayVar(&i.labels, "label", nil, "an image label KEY=VALUE (repeatable)")
	f.StringVar(&i.source, "image-source", "", "the image's org.opencontainers.image.source (the source repository's URL)")
	f.StringVar(&i.revision, "image-revision", "", "the image's org.opencontainers.image.revision (the source's commit)")
	f.BoolVar(&i.insecure, "insecure-registry", false, "allow plain http and unverified TLS certificates for the registry (local registries)")
}

func (i *imageFlags) options(g *globals) (scratchpack.ImageOptions, error) {
	var o scratchpack.ImageOptions
	if len(i.dests) == 0 {
		if len(i.ports)+len(i.labels) > 0 || i.source != "" || i.revision != "" || i.insecure && !i.from {
			return o, usagef("--port, --label, --image-source, --image-revision and --insecure-registry go with --image")
		}
		return o, nil
	}
	for _, s := range i.dests {
		d, err := image.ParseDest(s)
		if err != nil {
			return o, usageError{err}
		}
		o.Dests = append(o.Dests, d)
	}
	for _, p := range i.ports {
		pp, err := image.ParsePort(p)
		if err != nil {
			return o, usageError{err}
		}
		o.Ports = append(o.Ports, pp)
	}
	for _, l := range i.labels {
		if _, _, err := image.ParseLabel(l); err != nil {
			return o, usageError{err}
		}
	}
	o.Labels, o.Source, o.Revision, o.User = i.labels, i.source, i.revision, i.user
	o.Insecure = i.insecure
	o.Progress = g.pushProgress()
	return o, nil
}

// pushProgress prints a push's progress: on a terminal as one updated
// line, otherwise (CI logs) a line every 10 seconds.
func (g *globals) pushProgress() func(image.Progress) {
	show := g.progressLine()
	if show == nil {
		return nil
	}
	return func(p image.Progress) {
		show(fmt.Sprintf("pushing %s: %s/%s", p.Dest, human(p.Complete), human(p.Total)), p.Elapsed, p.Done)
	}
}

// pullProgress prints a pull's (build --from) as pushProgress does.
func (g *globals) pullProgress() func(source.Progress) {
	show := g.progressLine()
	if show == nil {
		return nil
	}
	return func(p source.Progress) {
		line := fmt.Sprintf("pulling %s: %s/%s", p.Ref, human(p.Complete), human(p.Total))
		if p.Layers > 0 {
			line += fmt.Sprintf(", %d/%d layers applied", p.Layer, p.Layers)
		}
		show(line, p.Elapsed, p.Done)
	}
}

// progressLine shows a progress line: on a terminal as one updated line
// (after a second), otherwise (CI logs) every 10 seconds.
func (g *globals) progressLine() func(line string, elapsed time.Duration, done bool) {
	if g.quiet {
		return nil
	}
	tty := false
	if f, ok := g.err.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	var last time.Duration
	return func(line string, elapsed time.Duration, done bool) {
		switch {
		case tty && elapsed >= time.Second:
			fmt.Fprintf(g.err, "\r%s   ", line)
			if done {
				fmt.Fprintln(g.err)
			}
		case !tty && !done && elapsed-last >= 10*time.Second:
			last = elapsed
			fmt.Fprintln(g.err, line)
		}
	}
}

// imageSummary says where the image went.
func (g *globals) imageSummary(r *scratchpack.ImageResult) {
	if r == nil {
		return
	}
	for _, w := range r.Written {
		where := w.Dest.String()
		if w.Ref != "" {
			where = "pushed " + w.Ref
		} else {
			where = "wrote " + where
		}
		g.infof("%s (%s, one layer of %s)\n", where, r.Platform, human(r.Layer.Size()))
	}
	if len(r.Written) > 0 {
		g.infof("image %s\n", r.Digest)
	}
}
