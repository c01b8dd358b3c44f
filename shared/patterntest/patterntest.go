// Package patterntest checks a written-out string validator against the
// regular expression it stands for. Validators that run at every cold
// start or on every call are loops rather than package-level regexps
// (which every process compiles at start); their tests keep them exactly
// equivalent to the pattern they document.
package patterntest

import (
	"regexp"
	"strings"
	"testing"
)

// Candidates returns every string of up to three bytes over an alphabet
// holding each character class validators tell apart (letters of both
// cases, digits, punctuation, space, a non-ASCII byte), and strings of
// maxLen-1, maxLen and maxLen+1 bytes with each of those first and last.
func Candidates(maxLen int) []string {
	const alphabet = "aqzAQZ059_.-/ :*!~\x7f\xe9"
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
	for _, l := range []int{maxLen - 1, maxLen, maxLen + 1} {
		if l < 1 {
			continue
		}
		for _, c := range alphabet {
			out = append(out, string(c)+strings.Repeat("a", l-1), strings.Repeat("a", l-1)+string(c))
		}
	}
	return out
}

// Equivalent fails t for every candidate (Candidates(maxLen)) that check
// and the anchored pattern judge differently.
func Equivalent(t testing.TB, pattern string, check func(string) bool, maxLen int) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	failures := 0
	for _, s := range Candidates(maxLen) {
		if got, want := check(s), re.MatchString(s); got != want {
			t.Errorf("%s: %q: got %v, want %v", pattern, s, got, want)
			if failures++; failures == 10 {
				t.Fatal("too many differences")
			}
		}
	}
}
