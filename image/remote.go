package image

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/pkg/errors"
)

// errPlainHTTP is a request over http without Options.Insecure.
var errPlainHTTP = errors.New("plain http is not allowed")

type httpsOnly struct{ next http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" {
		return nil, errPlainHTTP
	}
	return h.next.RoundTrip(req)
}

// RemoteOptions are how scratchpack talks to registries, for pushes and
// pulls alike: https only unless o.Insecure (which also lets certificates
// that do not verify through), credentials from o.Keychain (default
// authn.DefaultKeychain), a few retries.
func RemoteOptions(ctx context.Context, o Options) []remote.Option {
	rt := o.Transport
	if rt == nil {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		if o.Insecure {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // --insecure-registry asks for it
		}
		rt = t
	}
	if !o.Insecure {
		rt = httpsOnly{rt}
	}
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(rt),
		remote.WithAuthFromKeychain(kc),
		remote.WithUserAgent("scratchpack"),
		remote.WithRetryBackoff(remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 3}),
	}
}

// RegistryProblem says in words what went wrong with a registry request,
// or "" when it is none of the usual.
func RegistryProblem(err error) string {
	var te *transport.Error
	var dns *net.DNSError
	switch {
	case errors.Is(err, errPlainHTTP):
		return "it answers only over plain http: --insecure-registry allows that"
	case errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden):
		return "authentication failed (credentials come from $DOCKER_CONFIG/config.json or ~/.docker/config.json and its credential helpers, or REGISTRY_AUTH_FILE: docker login, podman login or crane auth login write them)"
	case errors.As(err, &dns):
		return "unknown host " + dns.Name
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is the registry running, on this port?)"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case strings.Contains(err.Error(), "x509:") || strings.Contains(err.Error(), "tls:"):
		return "its TLS certificate did not verify (--insecure-registry skips the check)"
	}
	return ""
}
