package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
)

func newSets(g *globals) *cobra.Command {
	var root, locale, user string
	cmd := &cobra.Command{
		Use:   "sets [--root DIR]",
		Short: "List the named sets of files (--with) and what each would add on this system",
		Long: `A trace sees the code paths of one run only: a DNS lookup, a TLS handshake,
another time zone or locale read files this run never touched. --with SET adds
them by name:

  nss     nsswitch.conf, hosts, resolv.conf, services, protocols, gai.conf, and
          the libnss modules nsswitch.conf names (with their libraries)
  certs   the CA bundle and directory (Debian, Alpine, RHEL layouts), OpenSSL's
          default paths, SSL_CERT_FILE and SSL_CERT_DIR
  tzdata  all of /usr/share/zoneinfo, /etc/localtime, /etc/timezone
  locale  a locale (--locale, C.UTF-8 by default) and the gconv modules it needs
  users   generated minimal /etc/passwd and /etc/group: root, nobody, --user
  shell   /bin/sh and a few tools to debug a running container`,
		Example: `  scratchpack sets
  scratchpack sets --root /tmp/rootfs
  scratchpack build --with nss,certs -o rootfs.tar.gz -- /usr/bin/curl https://example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := scratchpack.ListOptions{Root: root, Warn: func(error) {}}
			o.Locale, o.User = locale, user
			reps, err := scratchpack.DescribeSets(cmd.Context(), o)
			if err != nil {
				return err
			}
			for _, r := range reps {
				fmt.Fprintf(g.out, "%s: %s\n", r.Name, r.Summary)
				if r.Err != nil {
					fmt.Fprintf(g.out, "    not available here: %v\n", r.Err)
					continue
				}
				fmt.Fprintf(g.out, "    adds %d files, %s:\n", r.Files, human(r.Bytes))
				for i, p := range r.Paths {
					if i == 12 {
						fmt.Fprintf(g.out, "      ... and %d more\n", len(r.Paths)-i)
						break
					}
					fmt.Fprintf(g.out, "      %s\n", p)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", "/", "the filesystem to look in")
	cmd.Flags().StringVar(&locale, "locale", "C.UTF-8", "the locale of the locale set")
	cmd.Flags().StringVar(&user, "user", "", "a user for the users set")
	return cmd
}
