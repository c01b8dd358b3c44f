package notify

import (
	"testing"

	"github.com/dingfn/dingfn/shared/patterntest"
)

// isRobotName accepts exactly what the pattern it replaced accepted.
func TestRobotNameMatchesItsPattern(t *testing.T) {
	patterntest.Equivalent(t, `^[a-z0-9][a-z0-9_-]{0,63}$`, isRobotName, 64)
}
