package httpapi

import (
	"testing"

	"github.com/dingfn/dingfn/shared/patterntest"
)

// isKeyName accepts exactly what the pattern it replaced accepted.
func TestKeyNameMatchesItsPattern(t *testing.T) {
	patterntest.Equivalent(t, `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`, isKeyName, 64)
}
