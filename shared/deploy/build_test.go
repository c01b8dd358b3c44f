package deploy_test

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/deploy"
)

// goBuild is one `go build` command line printed by `make -n`.
type goBuild struct {
	env  map[string]string
	args []string // after "go build"
}

func (b goBuild) flag(name string) (string, bool) {
	for i, a := range b.args {
		if a == name && i+1 < len(b.args) {
			return b.args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func (b goBuild) has(arg string) bool { return slices.Contains(b.args, arg) }

// makeEnv is the environment make runs with: ours, minus variables that
// would change what the Makefile does.
func makeEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "ARTIFACTS_DIR", "DIST", "GO", "MAKEFLAGS", "MFLAGS", "GOFLAGS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func needMake(t *testing.T) string {
	t.Helper()
	mk, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not on PATH")
	}
	return mk
}

// dryRun returns the go build commands `make -n target` would run.
func dryRun(t *testing.T, args ...string) []goBuild {
	t.Helper()
	cmd := exec.Command(needMake(t), append([]string{"-n", "--no-print-directory"}, args...)...)
	cmd.Dir = repoRoot(t)
	cmd.Env = makeEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %v: %v\n%s", args, err, out)
	}
	text := strings.ReplaceAll(string(out), "\\\n", " ")
	var builds []goBuild
	for line := range strings.SplitSeq(text, "\n") {
		words, err := shellFields(line)
		if err != nil {
			t.Fatalf("make -n %v: %v in %q", args, err, line)
		}
		b := goBuild{env: map[string]string{}}
		i := 0
		for ; i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-"); i++ {
			k, v, _ := strings.Cut(words[i], "=")
			b.env[k] = v
		}
		if i+1 < len(words) && words[i] == "go" && words[i+1] == "build" {
			b.args = words[i+2:]
			builds = append(builds, b)
		}
	}
	return builds
}

// shellFields splits a command line the way sh does for the quoting the
// Makefile uses (single and double quotes, no escapes inside single).
func shellFields(s string) ([]string, error) {
	var (
		out   []string
		cur   strings.Builder
		in    bool
		quote rune
	)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unbalanced quote")
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// checkFlags asserts what makes an artifact reproducible and deployable,
// and that it links only what its platform can run.
func checkFlags(t *testing.T, b goBuild, goarch, out, pkg string, lambda bool) {
	t.Helper()
	for k, v := range map[string]string{"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": goarch} {
		if b.env[k] != v {
			t.Errorf("%s=%q, want %q", k, b.env[k], v)
		}
	}
	for _, f := range []string{"-trimpath", "-buildvcs=false"} {
		if !b.has(f) {
			t.Errorf("missing %s in %v", f, b.args)
		}
	}
	if ld, _ := b.flag("-ldflags"); !slices.Equal(strings.Fields(ld), []string{"-s", "-w", "-buildid="}) {
		t.Errorf("-ldflags %q, want \"-s -w -buildid=\"", ld)
	}
	if o, _ := b.flag("-o"); o != out {
		t.Errorf("-o %q, want %q", o, out)
	}
	if got := b.args[len(b.args)-1]; got != pkg {
		t.Errorf("package %q, want %q", got, pkg)
	}
	tags, _ := b.flag("-tags")
	// Both platforms drop aws-lambda-go's RPC mode; each drops the other
	// platform's adapter.
	p := deploy.FC
	if lambda {
		p = deploy.Lambda
	}
	if want := strings.Join(p.Tags(deploy.DefaultStores()), ","); tags != want {
		t.Errorf("-tags %q, want %q", tags, want)
	}
	// The command is exactly the one shared/deploy describes, which the
	// benchmarks build with.
	want := p.GoBuild(out, deploy.DefaultStores(), pkg)
	got := []string{}
	for _, kv := range want.Env {
		k, _, _ := strings.Cut(kv, "=")
		got = append(got, k+"="+b.env[k])
	}
	if !slices.Equal(got, want.Env) || !slices.Equal(append([]string{"build"}, b.args...), want.Args) {
		t.Errorf("make runs %v go %q, want %v go %q (deploy.Platform.GoBuild)", got, b.args, want.Env, want.Args)
	}
}

// TestMakefileRules reads what every target would run (make -n): eight
// artifacts where the descriptors expect them, with the reproducible flags.
func TestMakefileRules(t *testing.T) {
	for _, f := range deploy.Bundle() {
		t.Run(string(f.Name), func(t *testing.T) {
			pkg := "./functions/" + string(f.Name)
			for _, tc := range []struct {
				target, goarch, out string
				lambda              bool
				extra               []string
			}{
				{f.FCMakeTarget(), "amd64", f.FCArtifact(), false, nil},
				{f.LambdaMakeTarget(), "arm64", f.LambdaArtifact(), true, nil},
				{f.SAMMakeTarget(), "arm64", "/sam/artifacts/bootstrap", true, []string{"ARTIFACTS_DIR=/sam/artifacts"}},
			} {
				builds := dryRun(t, append([]string{tc.target}, tc.extra...)...)
				if len(builds) != 1 {
					t.Fatalf("make %s runs %d go builds, want 1", tc.target, len(builds))
				}
				checkFlags(t, builds[0], tc.goarch, tc.out, pkg, tc.lambda)
			}
		})
	}

	t.Run("build", func(t *testing.T) {
		var outs []string
		for _, b := range dryRun(t, "build") {
			o, _ := b.flag("-o")
			outs = append(outs, o)
		}
		var want []string
		for _, f := range deploy.Bundle() {
			want = append(want, f.FCArtifact(), f.LambdaArtifact())
		}
		slices.Sort(outs)
		slices.Sort(want)
		if !slices.Equal(outs, want) {
			t.Errorf("make build writes %v, want %v", outs, want)
		}
	})

	t.Run("test", func(t *testing.T) {
		cmd := exec.Command(needMake(t), "-n", "--no-print-directory", "test")
		cmd.Dir = repoRoot(t)
		cmd.Env = makeEnv()
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != "go test -race ./..." {
			t.Errorf("make -n test = %q, %v; want the README's go test -race ./...", got, err)
		}
	})

	t.Run("SAM target needs ARTIFACTS_DIR", func(t *testing.T) {
		cmd := exec.Command(needMake(t), "-n", "build-CallbackFunction")
		cmd.Dir = repoRoot(t)
		cmd.Env = makeEnv()
		out, err := cmd.CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("ARTIFACTS_DIR")) {
			t.Errorf("make build-CallbackFunction without ARTIFACTS_DIR: err %v, output %q; want a failure naming ARTIFACTS_DIR", err, out)
		}
	})
}

// TestBuildReproducible builds one function for FC twice into different
// directories and once for Lambda through SAM's target, then checks the
// bytes are identical and the executables are what the platforms run.
// With a warm build cache it takes seconds; the first run compiles the
// standard library for linux/amd64 and linux/arm64 with -trimpath, which
// takes a minute or more on a small machine, so -short skips it.
func TestBuildReproducible(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds real executables; run without -short")
	}
	mk := needMake(t)
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	root := repoRoot(t)
	f, _ := deploy.Lookup(config.TokenRefresher)
	if _, err := os.Stat(filepath.Join(root, "functions", string(f.Name), "main.go")); err != nil {
		t.Skipf("functions/%s is not written yet: %v", f.Name, err)
	}
	tmp := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(mk, append(args, "GO="+gobin)...)
		cmd.Dir = root
		cmd.Env = makeEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %v: %v\n%s", args, err, out)
		}
	}
	rel := strings.TrimPrefix(f.FCArtifact(), deploy.DistDir+"/")
	build := func(dir string) []byte {
		t.Helper()
		run(f.FCMakeTarget(), "DIST="+dir)
		bin, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatalf("artifact not where the descriptors expect it: %v", err)
		}
		return bin
	}
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	binA, binB := build(a), build(b)
	if !bytes.Equal(binA, binB) {
		// In a checkout being edited the sources may have changed between
		// the builds; a third build must then match the second.
		t.Log("first two builds differ; building a third to rule out edits in between")
		a = filepath.Join(tmp, "c")
		if !bytes.Equal(build(a), binB) {
			t.Error("builds of the same sources differ")
		}
	}
	checkExecutable(t, filepath.Join(a, rel), elf.EM_X86_64, f, strings.Join(deploy.FC.Tags(deploy.DefaultStores()), ","))

	sam := filepath.Join(tmp, "sam")
	run(f.SAMMakeTarget(), "ARTIFACTS_DIR="+sam)
	checkExecutable(t, filepath.Join(sam, deploy.LambdaHandler), elf.EM_AARCH64, f, strings.Join(deploy.Lambda.Tags(deploy.DefaultStores()), ","))
}

func checkExecutable(t *testing.T, path string, machine elf.Machine, f deploy.Function, tags string) {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: not an ELF executable: %v", path, err)
	}
	defer ef.Close()
	if ef.Class != elf.ELFCLASS64 || ef.Machine != machine || ef.Type != elf.ET_EXEC {
		t.Errorf("%s: %v %v %v, want ELFCLASS64 %v ET_EXEC", path, ef.Class, ef.Machine, ef.Type, machine)
	}
	// Static (no interpreter), stripped (-s), no build id (-buildid=).
	for _, name := range []string{".interp", ".symtab", ".note.go.buildid"} {
		if ef.Section(name) != nil {
			t.Errorf("%s: has section %s", path, name)
		}
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if want := modulePath + "/functions/" + string(f.Name); bi.Path != want {
		t.Errorf("%s: main package %s, want %s", path, bi.Path, want)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
		if strings.HasPrefix(s.Key, "vcs") {
			t.Errorf("%s: VCS stamp %s=%s makes builds depend on the checkout", path, s.Key, s.Value)
		}
	}
	for k, v := range map[string]string{"-trimpath": "true", "CGO_ENABLED": "0", "GOOS": "linux", "-tags": tags} {
		if settings[k] != v {
			t.Errorf("%s: build setting %s=%q, want %q", path, k, settings[k], v)
		}
	}
}

// goListDeps returns the packages `go list -deps` says the build links.
func goListDeps(t *testing.T, b deploy.GoBuild) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	tags, pkg := "", b.Args[len(b.Args)-1]
	for i, a := range b.Args {
		if a == "-tags" {
			tags = b.Args[i+1]
		}
	}
	cmd := exec.Command(gobin, "list", "-deps", "-tags", tags, pkg)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(makeEnv(), b.Env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestArtifactsLinkOnlyWhatTheyRun lists the packages each deployed
// artifact links: never the other platform's runtime client, the RPC
// mode, a store backend outside STORES, or a test-only package.
func TestArtifactsLinkOnlyWhatTheyRun(t *testing.T) {
	t.Parallel()
	forbiddenEverywhere := []string{
		"net/rpc", "testing", "go.etcd.io/bbolt", "github.com/redis/go-redis/v9", "github.com/alicebob/miniredis/v2",
		"github.com/yuin/gopher-lua", "github.com/stretchr/testify/assert",
		modulePath + "/shared/store/boltstore", modulePath + "/shared/store/redisstore",
		modulePath + "/shared/dingtalktest", modulePath + "/shared/store/tablestoretest", modulePath + "/shared/clocktest",
	}
	for _, c := range []struct {
		p         deploy.Platform
		forbidden []string
		required  []string
	}{
		{deploy.FC, []string{"github.com/aws/aws-lambda-go/lambda"}, []string{"github.com/aliyun/fc-runtime-go-sdk/fc"}},
		{deploy.Lambda, []string{"github.com/aliyun/fc-runtime-go-sdk/fc"}, []string{"github.com/aws/aws-lambda-go/lambda"}},
	} {
		for _, f := range deploy.Bundle() {
			t.Run(fmt.Sprintf("%s/%s", c.p, f.Name), func(t *testing.T) {
				deps := goListDeps(t, c.p.GoBuild("out", deploy.DefaultStores(), "./functions/"+string(f.Name)))
				for _, pkg := range slices.Concat(forbiddenEverywhere, c.forbidden) {
					if slices.Contains(deps, pkg) {
						t.Errorf("links %s", pkg)
					}
				}
				for _, pkg := range append(c.required, modulePath+"/shared/store/otsstore", modulePath+"/shared/store/memstore") {
					if !slices.Contains(deps, pkg) {
						t.Errorf("does not link %s", pkg)
					}
				}
			})
		}
	}
	t.Run("STORES=redis", func(t *testing.T) {
		deps := goListDeps(t, deploy.Lambda.GoBuild("out", []string{"redis"}, "./functions/callback"))
		if !slices.Contains(deps, "github.com/redis/go-redis/v9") || slices.Contains(deps, modulePath+"/shared/store/otsstore") {
			t.Error("a Redis-only build must link go-redis and not the Tablestore store")
		}
		if slices.Contains(deps, "github.com/alicebob/miniredis/v2") {
			t.Error("links miniredis, the Redis fake of the tests")
		}
	})
}

// TestMakefileFuzzTargets holds `make fuzz` (which CI runs for a few
// seconds each) to the fuzz targets in the tree, so a new one is not left
// out.
func TestMakefileFuzzTargets(t *testing.T) {
	cmd := exec.Command(needMake(t), "-n", "--no-print-directory", "fuzz")
	cmd.Dir = repoRoot(t)
	cmd.Env = makeEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n fuzz: %v\n%s", err, out)
	}
	_, list, ok := strings.Cut(string(out), " in ")
	list, _, ok2 := strings.Cut(list, ";")
	if !ok || !ok2 {
		t.Fatalf("make -n fuzz: no target list in %q", out)
	}
	got := strings.Fields(list)
	var want []string
	root := repoRoot(t)
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		for line := range strings.SplitSeq(string(b), "\n") {
			name, ok := strings.CutPrefix(line, "func Fuzz")
			if !ok || !strings.Contains(name, "(f *testing.F)") {
				continue
			}
			name, _, _ = strings.Cut(name, "(")
			want = append(want, filepath.ToSlash(rel)+":Fuzz"+name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("make fuzz runs %v,\nthe tree has the fuzz targets %v", got, want)
	}
}

// TestNoRegexpCompiledAtStart: no package a deployed function links (in
// this module) compiles a regular expression in a package-level variable,
// which every cold start of every function would pay for; a validator is
// written out (see shared/patterntest) or compiles its pattern on first
// use.
func TestNoRegexpCompiledAtStart(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	for _, pkg := range linkedPackagesOfOurs(t) {
		for _, name := range pkg.goFiles {
			path := filepath.Join(pkg.dir, name)
			file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range file.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.VAR {
					continue
				}
				ast.Inspect(gd, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.FuncLit:
						return false // runs when called, not at start
					case *ast.CallExpr:
						if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
							if x, ok := sel.X.(*ast.Ident); ok && x.Name == "regexp" {
								t.Errorf("%s: a package-level regexp.%s runs at every cold start", fset.Position(n.Pos()), sel.Sel.Name)
							}
						}
					}
					return true
				})
			}
		}
	}
}

// ourPackage is one of this module's packages a deployed function links.
type ourPackage struct {
	dir            string
	goFiles, embed []string // embed: the files its //go:embed directives name
}

// linkedPackagesOfOurs lists this module's packages any deployed function
// (FC, default stores) links.
func linkedPackagesOfOurs(t *testing.T) []ourPackage {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	var pkgs []string
	for _, f := range deploy.Bundle() {
		b := deploy.FC.GoBuild("out", deploy.DefaultStores(), "./functions/"+string(f.Name))
		pkgs = append(pkgs, goListDeps(t, b)...)
	}
	slices.Sort(pkgs)
	pkgs = slices.Compact(pkgs)
	var ours []string
	for _, p := range pkgs {
		if strings.HasPrefix(p, modulePath+"/") {
			ours = append(ours, p)
		}
	}
	cmd := exec.Command(gobin, append([]string{"list", "-tags", strings.Join(deploy.FC.Tags(deploy.DefaultStores()), ","), "-json=Dir,GoFiles,EmbedFiles"}, ours...)...)
	cmd.Dir = repoRoot(t)
	cmd.Env = makeEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var list []ourPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Dir                 string
			GoFiles, EmbedFiles []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list: %v", err)
		}
		list = append(list, ourPackage{dir: p.Dir, goFiles: p.GoFiles, embed: p.EmbedFiles})
	}
	if len(list) != len(ours) {
		t.Fatalf("go list described %d of %d packages", len(list), len(ours))
	}
	return list
}

// maxPlainEmbed is the largest file a deployed function may embed
// uncompressed: the kernel maps a started binary nearly whole, so every
// embedded byte is start-up memory of every instance.
const maxPlainEmbed = 16 << 10

// TestNoLargePlainEmbeds: a large document a deployed function embeds
// (notify's OpenAPI document) is embedded gzipped.
func TestNoLargePlainEmbeds(t *testing.T) {
	t.Parallel()
	for _, pkg := range linkedPackagesOfOurs(t) {
		for _, name := range pkg.embed {
			b, err := os.ReadFile(filepath.Join(pkg.dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > maxPlainEmbed && !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
				t.Errorf("%s embeds %s, %d bytes uncompressed (at most %d): embed it gzipped", pkg.dir, name, len(b), maxPlainEmbed)
			}
		}
	}
}
