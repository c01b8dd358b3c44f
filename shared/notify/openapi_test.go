package notify_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/dingfn/dingfn/shared/notify"
)

// The document notify serves is openapi.json as it stands: the embedded
// compressed copy is regenerated with it (go generate ./shared/notify).
func TestOpenAPICompressedCopy(t *testing.T) {
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := notify.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the embedded openapi.json.gz (%d bytes decompressed) is not openapi.json (%d bytes): run go generate ./shared/notify", len(got), len(want))
	}
}
