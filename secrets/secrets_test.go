package secrets

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// randomText makes n bytes from the alphabet: a token the test has not
// written by hand.
func randomText(rng *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.Intn(len(alphabet))]
	}
	return string(b)
}

const (
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upperD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b64    = alnum + "+/"
)

// tool runs a command and returns its output; the test fails without it.
func tool(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out
}

// realKeys makes private keys with ssh-keygen and openssl, as users do.
func realKeys(t *testing.T) map[string][]byte {
	testenv.Need(t, "ssh-keygen", "openssl")
	dir := t.TempDir()
	keys := map[string][]byte{}
	for name, args := range map[string][]string{
		"id_ed25519": {"-t", "ed25519"},
		"id_rsa.pem": {"-t", "rsa", "-b", "1024", "-m", "PEM"},
		"id_ecdsa":   {"-t", "ecdsa", "-m", "PEM"},
	} {
		p := filepath.Join(dir, name)
		tool(t, "ssh-keygen", append(args, "-q", "-N", "", "-C", "test", "-f", p)...)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = data
	}
	keys["pkcs8.key"] = tool(t, "openssl", "genpkey", "-algorithm", "ed25519")
	keys["encrypted.key"] = tool(t, "openssl", "genpkey", "-algorithm", "ed25519", "-aes-128-cbc", "-pass", "pass:x")
	return keys
}

type want struct {
	line int
	kind Kind
}

// TestScan: real keys and made-up tokens of the right shapes are found
// with their line and kind, never their text; look-alikes are not.
func TestScan(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	keys := realKeys(t)
	awsID := "AKIA" + randomText(rng, 16, upperD)
	awsSecret := randomText(rng, 36, b64) + "aZ9/"
	ghp := "ghp_" + randomText(rng, 33, alnum) + "a1Z"
	pat := "github_pat_11" + randomText(rng, 20, alnum) + "_" + randomText(rng, 59, alnum)
	glpat := "glpat-" + randomText(rng, 17, alnum) + "x9Y"
	slack := "xoxb-1234567890-1234567890123-" + randomText(rng, 24, alnum)
	sa, _ := json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": "p", "private_key_id": randomText(rng, 40, "0123456789abcdef"),
		"private_key": string(keys["pkcs8.key"]), "client_email": "x@p.iam.gserviceaccount.com",
	}, "", "  ")
	secretsOf := []string{awsSecret, ghp[4:], pat[11:], glpat[6:], slack[5:]}
	tests := []struct {
		name string
		data string
		want []want
	}{
		{"server.key", "\n" + string(keys["id_rsa.pem"]), []want{{2, PrivateKey}}},
		{"id_ecdsa", string(keys["id_ecdsa"]), []want{{1, PrivateKey}}},
		{"id_ed25519", string(keys["id_ed25519"]), []want{{1, OpenSSHKey}}},
		{"pkcs8.key", string(keys["pkcs8.key"]), []want{{1, PrivateKey}}},
		{"encrypted.key", string(keys["encrypted.key"]), []want{{1, PrivateKey}}},
		{"crlf.key", strings.ReplaceAll(string(keys["pkcs8.key"]), "\n", "\r\n"), []want{{1, PrivateKey}}},
		{"two.pem", string(keys["pkcs8.key"]) + "x\n" + string(keys["id_rsa.pem"]), []want{{1, PrivateKey}, {5, PrivateKey}}},
		{"sa.json", string(sa), []want{{3, GCPKey}}}, // keys sorted: "private_key" is the second
		{"credentials", "[default]\naws_access_key_id = " + awsID + "\naws_secret_access_key = " + awsSecret + "\n", []want{{2, AWSKey}}},
		{"config.py", "KEY = '" + awsID + "'\nSECRET = '" + awsSecret + "'\nTOKEN = \"" + ghp + "\"\n", []want{{1, AWSKey}, {3, GitHubToken}}},
		{"tokens.yaml", "a: " + pat + "\nb: " + glpat + "\nc: " + slack + "\n", []want{{1, GitHubToken}, {2, GitLabToken}, {3, SlackToken}}},
		{"temporary", "id=ASIA" + randomText(rng, 16, upperD) + " secret=" + awsSecret, []want{{1, AWSKey}}},
		{"app/.env", "# settings\nPORT=8080\nAPI_KEY=" + randomText(rng, 24, alnum) + "\nexport DB_PASSWORD='p4ss'\nDEBUG=true\nPWD=/srv\nEMPTY_TOKEN=\nREF_SECRET=${OTHER}\nDATABASE_URL=postgres://app:hunter2@db/app\n",
			[]want{{3, EnvCredential}, {4, EnvCredential}, {9, EnvCredential}}},
		{"prod.env", "STRIPE_KEY=sk_live_x\n", []want{{1, EnvCredential}}},
		{"tokens.env", "GITHUB_TOKEN=" + ghp + "\nOTHER_TOKEN=x\n", []want{{1, GitHubToken}, {2, EnvCredential}}},
		{"home/.netrc", "machine example.com\n  login me\n  password hunter2\nmachine other login a password b\n", []want{{3, NetrcPassword}, {4, NetrcPassword}}},
		{"home/.pgpass", "# host:port:db:user:password\ndb:5432:*:app:hunter2\nlocalhost:*:*:me:\n", []want{{2, PgpassPassword}}},
		// look-alikes
		{"docs.md", "AWS's example: AKIAIOSFODNN7EXAMPLE and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", nil},
		{"alone", "id " + awsID + " and a sha1 0123456789abcdef0123456789abcdef01234567\n", nil},
		{"pem.go", "const header = \"-----BEGIN RSA PRIVATE KEY-----\"\nvar x = 1\n", nil},
		{"cert.pem", "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2\n-----END CERTIFICATE-----\n-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n", nil},
		{"text", "high right through the ghp_ prefix ghp_short xoxb- glpat- github_pat_x KEY-----\n", nil},
		{"settings.env", "PORT=8080\nHOST=0.0.0.0\n", nil},
		{"netrc-doc.txt", "machine example.com login me password hunter2\n", nil}, // not named .netrc
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Scanner
			got := s.ScanBytes([]byte(tt.data), tt.name)
			if len(got) != len(tt.want) {
				t.Fatalf("found %v, want %v", got, tt.want)
			}
			for i, f := range got {
				if f.Line != tt.want[i].line || f.Kind != tt.want[i].kind || f.Path != tt.name {
					t.Errorf("finding %d: %v, want line %d: %s", i, f, tt.want[i].line, tt.want[i].kind)
				}
				for _, sec := range append(secretsOf, "hunter2", "p4ss") {
					if strings.Contains(f.String(), sec) {
						t.Errorf("%v shows the secret", f)
					}
				}
			}
		})
	}
}

// TestScanBlocks: a secret across the edge of a block, or near it, is
// found once with its line, whatever the size of the blocks.
func TestScanBlocks(t *testing.T) {
	keys := realKeys(t)
	key := keys["pkcs8.key"]
	for _, pad := range []int{0, 1, 100, blockSize - ctx - 10, blockSize - ctx, blockSize - 20, blockSize + ctx - 5, 2*blockSize + 3} {
		// pad bytes of lines, then the key: its line is the lines before + 1
		filler := bytes.Repeat([]byte("0123456789 abcdef ghijk lmnop\n"), pad/30+1)[:pad]
		data := append(append(append([]byte{}, filler...), '\n'), key...)
		line := bytes.Count(filler, []byte("\n")) + 2
		var s Scanner
		got := s.ScanBytes(data, "f")
		if len(got) != 1 || got[0].Line != line || got[0].Kind != PrivateKey {
			t.Errorf("pad %d: %v, want one key at line %d", pad, got, line)
		}
	}
}

// TestScanELF: a token compiled into a program is found in the binary.
func TestScanELF(t *testing.T) {
	testenv.Need(t, "gcc")
	dir := t.TempDir()
	token := "ghp_" + randomText(rand.New(rand.NewSource(3)), 33, alnum) + "b2C"
	src := filepath.Join(dir, "app.c")
	os.WriteFile(src, []byte(`#include <stdio.h>
static const char *token = "`+token+`";
int main(void) { return puts(token) < 0; }
`), 0o644)
	tool(t, "gcc", "-O1", "-o", filepath.Join(dir, "app"), src)
	f, err := os.Open(filepath.Join(dir, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var s Scanner
	got, err := s.Scan(f, "/usr/local/bin/app")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Kind != GitHubToken || got[0].Line < 1 {
		t.Errorf("found %v, want the GitHub token", got)
	}
}

// TestScanSystemFiles: programs and libraries that only name key
// formats (PEM headers as constants) are not findings.
func TestScanSystemFiles(t *testing.T) {
	var files []string
	for _, pat := range []string{"/usr/lib/x86_64-linux-gnu/libcrypto.so.*", "/usr/lib/x86_64-linux-gnu/libssl.so.*", "/usr/bin/ssh-keygen", "/usr/bin/openssl", "/usr/lib/python3*/ssl.py"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("none of libcrypto, ssh-keygen, openssl, ssl.py is here")
	}
	var s Scanner
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Scan(f, p)
		f.Close()
		if err != nil || len(got) > 0 {
			t.Errorf("%s: %v %v", p, got, err)
		}
	}
}
