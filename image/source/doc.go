// Package source opens an existing container image as the root of a
// traced run (`build --from IMAGE`): it reads the image from a registry
// (docker://REF, or a plain REGISTRY/REPO:TAG), an OCI layout
// (oci:DIR[:TAG]) or a docker save file (docker-archive:FILE[:NAME:TAG]),
// picks the platform's image from an index, and applies its layers in
// order into a directory as a container runtime does: whiteouts
// (.wh.NAME), opaque directories (.wh..wh..opq), hardlinks to earlier
// layers, symlinks, owners, modes, extended attributes and times. Nothing
// is written outside that directory, whatever a layer holds
// (tarball.Applier; FuzzApplyLayers checks it). Device nodes are not
// made: Image.Skipped lists them. A layer entry named with an absolute
// path or "..", which docker would take as relative, is refused.
//
// Pulled layers and applied roots are kept in a cache directory, keyed by
// digest: blobs/sha256/HEX (compressed layers as pulled), roots/sha256/HEX
// (roots, keyed by the chain ID of their layers) and refs/ (what a name
// pointed at, and the image's config). Every entry is made under a
// temporary name and renamed into place, so an interrupted Open leaves
// no half-written entry (a killed one leaves a .tmp- directory, swept a
// day later). A second Open of the same name asks no registry and applies
// nothing: as podman run's default pull policy, a tag that moved since is
// seen only with Options.Pull = PullAlways. Nothing is ever removed from
// the cache but those temporaries.
//
// The package never prints: Options.Progress receives the progress of a
// pull.
package source
