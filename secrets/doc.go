// Package secrets finds credentials in files by their content, so that
// an image does not carry them by accident: PEM and OpenSSH private keys,
// PGP private key blocks, AWS access key ids with their secret keys, GCP
// service-account keys, GitHub, GitLab and Slack tokens, and the
// credentials of .env, .netrc and .pgpass files.
//
// A Finding names the file, the line and the kind of secret, never the
// secret itself, so that it can be printed and logged.
//
// The scan reads each file once, in blocks, and finds its anchors by
// four rare bytes with the standard library's vectorized search: 'K'
// ("PRIVATE KEY-----", "AKIA"), 'S' ("ASIA"), '_' ("ghp_",
// "github_pat_") and '-' ("glpat-", "xoxb-"). Only around an anchor
// does it look closer (a key block must have a body, a token its
// length, an access key id a secret key near it). Names (.env, .netrc,
// .pgpass) are read line by line. Line numbers are counted only in
// files that hold a finding. Packaged tells the files a Debian package
// installed unmodified: what they hold is public.
package secrets
