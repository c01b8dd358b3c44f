//go:build !linux

package directorytest

import (
	"context"
	"errors"
)

// WalkerRSS needs Linux, whose rusage reports a child's peak RSS in KiB.
func WalkerRSS(ctx context.Context, users int, command []string) (*WalkerPeak, error) {
	return nil, errors.New("directorytest: the walker's peak RSS is measured on Linux only")
}
