//go:build !unix

package dingcrypto

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
