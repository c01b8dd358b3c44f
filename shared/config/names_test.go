package config

import (
	"regexp"
	"strings"
	"testing"
)

// The written-out value checks accept exactly what the patterns they
// replaced accepted.
func TestValueChecksMatchTheirPatterns(t *testing.T) {
	for _, c := range []struct {
		re    string
		check func(string) bool
		max   int
	}{
		{`^[A-Za-z0-9]{43}$`, isAESKey, 43},
		{`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`, isHostname, 253},
	} {
		re := regexp.MustCompile(c.re)
		for _, s := range candidates(c.max) {
			if got, want := c.check(s), re.MatchString(s); got != want {
				t.Errorf("%s: %q: got %v, want %v", c.re, s, got, want)
			}
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
