package schedule

import (
	"testing"

	"github.com/dingfn/dingfn/shared/patterntest"
)

// isStepName accepts exactly what the pattern it replaced accepted.
func TestStepNameMatchesItsPattern(t *testing.T) {
	patterntest.Equivalent(t, `^[a-z0-9][a-z0-9_-]{0,62}$`, isStepName, 63)
}
