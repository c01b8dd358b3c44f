package events

import (
	"testing"

	"github.com/dingfn/dingfn/shared/patterntest"
)

// The written-out pattern and route-name checks accept exactly what the
// patterns they replaced accepted.
func TestNameChecksMatchTheirPatterns(t *testing.T) {
	patterntest.Equivalent(t, `^(\*|[A-Za-z0-9_.:-]+\*?)$`, isPattern, 64)
	patterntest.Equivalent(t, `^[!-~]{1,200}$`, isRouteName, 200)
}
