package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dingfn/dingfn/shared/bench"
)

// dingfn bench runs the registry's measurements: the markdown table for a
// person, the rows as JSON with --json, the token rows measured and every
// row not selected skipped.
func TestBench(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--only", "token"}, &out, &errOut, noEnv); err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{bench.TableHeader, "| token cache: DingTalk access-token calls", "**1** — 150 callers | = 1 | ✓ |", "— (not selected)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"bench", "--only", "token", "--json"}, &out, &errOut, noEnv); err != nil {
		t.Fatalf("bench --json: %v", err)
	}
	var rows []bench.Result
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("bench --json printed %q: %v", out.String(), err)
	}
	measured := 0
	for _, r := range rows {
		if r.Skip == "" {
			measured++
			if r.Measurement != "token cache" || r.Value != 1 || r.Met == nil || !*r.Met {
				t.Errorf("row %+v", r)
			}
		}
	}
	if measured != 2 {
		t.Errorf("%d rows measured, want the token cache's 2", measured)
	}
	if err := run(context.Background(), []string{"bench", "extra"}, &out, &errOut, noEnv); ExitCode(err) != ExitUsage {
		t.Errorf("bench with an argument: %v, want a usage error", err)
	}
}
