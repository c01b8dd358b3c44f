package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/store/backend"
)

// TagNoRPC drops aws-lambda-go's net/rpc mode (the retired go1.x runtime):
// with it linked, the RPC server's reflection keeps every exported method
// of every type alive, which doubled the size of the binaries.
const TagNoRPC = "lambda.norpc"

// DefaultStores are the store backends `make build` links into every
// artifact, the Makefile's STORES: Tablestore, the descriptors' default,
// and memory, the smoke-test store. Redis needs STORES="tablestore redis"
// (about 2 MB more per binary); bolt, a local file, is of no use on
// either platform.
func DefaultStores() []string { return []string{backend.Tablestore, backend.Memory} }

// Tags returns the build tags of an artifact for p linking stores: the
// platform's tag (platform.TagFC or platform.TagLambda, so the other
// platform's runtime client is left out), TagNoRPC, and each store's tag
// (backend.Tag), in that order.
func (p Platform) Tags(stores []string) []string {
	tags := []string{platform.TagFC, TagNoRPC}
	if p == Lambda {
		tags[0] = platform.TagLambda
	}
	for _, s := range stores {
		tags = append(tags, backend.Tag(s))
	}
	return tags
}

// GoArch is the architecture p runs: FC's go1 runtime is x86-64, the
// Lambda functions run on Graviton.
func (p Platform) GoArch() string {
	if p == Lambda {
		return LambdaArch
	}
	return "amd64"
}

// GoBuild is one `go build` command line.
type GoBuild struct {
	// Env holds the variables set for the command, NAME=value.
	Env []string
	// Args follow "go".
	Args []string
}

// archLevel is the fixed instruction-set level of each architecture, so
// a build does not depend on the builder's GOAMD64/GOARM64.
var archLevel = map[string]string{"amd64": "GOAMD64=v1", "arm64": "GOARM64=v8.0"}

// GoBuild returns the command the Makefile runs to build pkgs (paths
// such as ./functions/callback) for p, linking stores, into out: the
// executable's path for one package, a directory ending in a slash for
// several. Builds are reproducible: no cgo, no file paths (-trimpath), no
// VCS stamp, no build id, stripped, fixed instruction-set level.
func (p Platform) GoBuild(out string, stores []string, pkgs ...string) GoBuild {
	return p.GoBuildArch(p.GoArch(), out, stores, pkgs...)
}

// GoBuildArch is GoBuild for another architecture, with every other flag
// the same: what the benchmarks run on this machine to time an artifact's
// start-up.
func (p Platform) GoBuildArch(goarch, out string, stores []string, pkgs ...string) GoBuild {
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch}
	if lvl, ok := archLevel[goarch]; ok {
		env = append(env, lvl)
	}
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid=",
		"-tags", strings.Join(p.Tags(stores), ","), "-o", out}
	return GoBuild{Env: env, Args: append(args, pkgs...)}
}

// ModulePath is dingfn's module path, by which a source tree is known.
const ModulePath = "github.com/dingfn/dingfn"

// SourceTree returns dir when it holds dingfn's go.mod, or with walkUp the
// nearest directory above it that does: builds and the tests that read
// s.yaml run from anywhere inside the tree. ok is false when there is none.
func SourceTree(dir string, walkUp bool) (root string, ok bool) {
	for {
		if isDingfnModule(filepath.Join(dir, "go.mod")) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if !walkUp || parent == dir {
			return "", false
		}
		dir = parent
	}
}

func isDingfnModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return fields[1] == ModulePath
		}
	}
	return false
}
