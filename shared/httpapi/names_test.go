package httpapi

import (
	"regexp"
	"strings"
	"testing"
)

// isKeyName accepts exactly what the pattern it replaced accepted.
func TestKeyNameMatchesItsPattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	for _, s := range candidates(64) {
		if got, want := isKeyName(s), re.MatchString(s); got != want {
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
