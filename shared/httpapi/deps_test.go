package httpapi

import (
	"os/exec"
	"strings"
	"testing"
)

// The HTTP plumbing and the feature packages built on it stay free of the
// cloud SDKs: those belong to shared/platform (and the store backends)
// alone, so a feature can be tested and reused without them.
func TestNoCloudSDKInImports(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found; cannot list imports")
	}
	pkgs := []string{
		"github.com/dingfn/dingfn/shared/httpapi",
		"github.com/dingfn/dingfn/shared/redact",
		"github.com/dingfn/dingfn/shared/callback",
	}
	for _, pkg := range pkgs {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for dep := range strings.FieldsSeq(string(out)) {
			for _, sdk := range []string{"github.com/aliyun/", "github.com/aws/", "shared/platform"} {
				if strings.Contains(dep, sdk) {
					t.Errorf("%s imports %s", pkg, dep)
				}
			}
		}
	}
}
