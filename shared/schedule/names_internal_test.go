package schedule

import (
	"regexp"
	"strings"
	"testing"
)

// isStepName accepts exactly what the pattern it replaced accepted.
func TestStepNameMatchesItsPattern(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	for _, s := range candidates(63) {
		if got, want := isStepName(s), re.MatchString(s); got != want {
			t.Errorf("%q: got %v, want %v", s, got, want)
		}
	}
}

// candidates returns every string of up to three bytes over an alphabet
// of each character class the patterns tell apart, and strings around the
// length limit n with each of those bytes first and last.
func candidates(n int) []string {
	const alphabet = "aqzAQZ059_.-/ :\xe9"
	out := []string{""}
	for _, a := range alphabet {
		out = append(out, string(a))
		for _, b := range alphabet {
			out = append(out, string(a)+string(b))
			for _, c := range alphabet {
				out = append(out, string(a)+string(b)+string(c))
			}
		}
	}
	for _, l := range []int{n - 1, n, n + 1} {
		for _, c := range alphabet {
			out = append(out, string(c)+strings.Repeat("a", l-1), strings.Repeat("a", l-1)+string(c))
		}
	}
	return out
}
