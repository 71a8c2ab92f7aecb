package scratchpack

import (
	"context"
	"path/filepath"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect/elfdeps"
	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/image"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// ImageOptions say which container images to write besides the archive
// (--image), and what their config holds beyond the command, the
// environment and the working directory (PackOptions' Cmd, Env, Workdir,
// as in the Dockerfile).
type ImageOptions struct {
	Dests  []image.Dest
	User   string
	Ports  []string // PORT[/PROTO]
	Labels []string // KEY=VALUE
	// Source and Revision become org.opencontainers.image.source and
	// .revision; created comes from PackOptions' Epoch.
	Source, Revision string
	// Base, when set, is the image the result was made from (build
	// --from): its entrypoint, volumes, stop signal, healthcheck and
	// platform, and the base.name and base.digest annotations.
	Base *BaseImage
	// Insecure, Progress, Keychain: how pushes go.
	image.Options
}

// ImageResult says what writeImages made.
type ImageResult struct {
	Digest   string
	Platform image.Platform
	Layer    *image.Layer
	Written  []*image.Result
}

// writeImages makes the image of the packed list, its one layer being
// the archive as written (see writeArchive), and writes it to every
// destination.
func writeImages(ctx context.Context, l *filelist.List, opts PackOptions, lf layerFile) (*ImageResult, error) {
	iopts := opts.Image
	var platform image.Platform
	var err error
	if iopts.Base != nil {
		platform = iopts.Base.Platform
	} else if platform, err = platformOf(l, opts.Cmd, rootpath.PathOf(opts.Env)); err != nil {
		return nil, err
	}
	labels := map[string]string{}
	for _, kv := range iopts.Labels {
		k, v, err := image.ParseLabel(kv)
		if err != nil {
			return nil, err
		}
		labels[k] = v
	}
	layer, err := image.NewLayer(lf.path, opts.Compression, lf.stats)
	if err != nil {
		return nil, err
	}
	cfg := image.Config{
		Cmd:        opts.Cmd,
		Env:        opts.Env,
		WorkingDir: opts.Workdir,
		User:       iopts.User,
		Ports:      iopts.Ports,
		Labels:     labels,
		Created:    opts.Epoch,
		Source:     iopts.Source,
		Revision:   iopts.Revision,
		Platform:   platform,
	}
	if b := iopts.Base; b != nil {
		cfg.Entrypoint, cfg.Volumes, cfg.StopSignal, cfg.Healthcheck = b.Entrypoint, b.Volumes, b.StopSignal, b.Healthcheck
		cfg.Annotations = map[string]string{image.AnnotationBaseName: b.Name, image.AnnotationBaseDigest: b.Digest}
	}
	img, err := image.New(layer, cfg)
	if err != nil {
		return nil, err
	}
	res := &ImageResult{Digest: img.Digest, Platform: platform, Layer: layer}
	for _, d := range iopts.Dests {
		w, err := image.Write(ctx, img, d, iopts.Options)
		if err != nil {
			return res, err
		}
		res.Written = append(res.Written, w)
	}
	return res, nil
}

// platformOf reads the os and architecture from the command's program in
// the list's root, through "#!" interpreters to the ELF file that runs
// ("#!/usr/bin/env NAME" finds NAME through the image's PATH, path).
func platformOf(l *filelist.List, cmd, path []string) (image.Platform, error) {
	res, err := rootpath.New(l.Root)
	if err != nil {
		return image.Platform{}, err
	}
	p := cmd[0]
	for range maxInterpDepth {
		canon, err := res.Canonical(p)
		if err != nil {
			return image.Platform{}, errors.Wrapf(err, "finding the command %s to tell the image's architecture", p)
		}
		exe, err := elfdeps.Inspect(res.HostPath(canon))
		if err != nil {
			return image.Platform{}, errors.WithMessagef(err, "finding the image's architecture from %s", p)
		}
		switch exe.Kind {
		case elfdeps.ELF:
			return image.PlatformOf(res.HostPath(canon))
		case elfdeps.Script:
			if filepath.Base(exe.Interp) == "env" {
				name := envProgramName(exe.Arg)
				found, err := res.LookPath(name, path, "/")
				if name == "" || err != nil {
					return image.Platform{}, errors.Errorf("%s: cannot find %q (its #! interpreter) to tell the image's architecture", p, exe.Arg)
				}
				p = found
				continue
			}
			p = exe.Interp
		default:
			return image.Platform{}, errors.Errorf("%s is neither an ELF program nor a #! script: cannot tell the image's architecture", p)
		}
	}
	return image.Platform{}, errors.Errorf("%s: too many #! interpreters", cmd[0])
}

// imagePaths are the files and directories the images go to.
func imagePaths(o ImageOptions) []string {
	var out []string
	for _, d := range o.Dests {
		if d.Path != "" {
			out = append(out, d.Path)
		}
	}
	return out
}
