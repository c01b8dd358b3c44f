package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// README's performance table is `dingfn bench`'s output pasted: its header
// and its rows, in order, are the registry's (the figures are whatever
// the run measured).
func TestREADMETable(t *testing.T) {
	root, err := sourceTree("")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	at := slices.Index(lines, TableHeader)
	if at < 0 {
		t.Fatalf("README has no line %q: paste the table `dingfn bench` prints", TableHeader)
	}
	var got []string
	for _, line := range lines[at+2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		got = append(got, first)
	}
	var want []string
	for _, m := range Measurements() {
		for _, r := range m.Rows {
			want = append(want, cell(RowLabel(m, r)))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("README's performance table has the rows\n  %s\nthe registry has\n  %s\n(run `make bench` and paste its table)", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
