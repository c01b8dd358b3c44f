package config

import (
	"testing"

	"github.com/dingfn/dingfn/shared/patterntest"
)

// The written-out value checks accept exactly what the patterns they
// replaced accepted.
func TestValueChecksMatchTheirPatterns(t *testing.T) {
	patterntest.Equivalent(t, `^[A-Za-z0-9]{43}$`, isAESKey, 43)
	patterntest.Equivalent(t, `^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`, isHostname, 253)
}
