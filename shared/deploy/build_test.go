package deploy_test

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
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

// checkFlags asserts what makes an artifact reproducible and deployable.
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
	if hasNoRPC := slices.Contains(strings.Split(tags, ","), "lambda.norpc"); hasNoRPC != lambda {
		t.Errorf("-tags %q: lambda.norpc present = %v, want %v", tags, hasNoRPC, lambda)
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
	checkExecutable(t, filepath.Join(a, rel), elf.EM_X86_64, f, "")

	sam := filepath.Join(tmp, "sam")
	run(f.SAMMakeTarget(), "ARTIFACTS_DIR="+sam)
	checkExecutable(t, filepath.Join(sam, deploy.LambdaHandler), elf.EM_AARCH64, f, "lambda.norpc")
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
