package cli

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{45 * time.Second, "45s"},
		{1500 * time.Millisecond, "2s"},
		{20 * time.Minute, "20m"},
		{12*time.Minute + 30*time.Second, "12m30s"},
		{100 * time.Minute, "1h40m"},
		{2*time.Hour + 59*time.Second, "2h0m"},
		{51 * time.Hour, "2d3h"},
		{-3 * time.Minute, "-3m"},
	}
	for _, tt := range tests {
		if got := duration(tt.d); got != tt.want {
			t.Errorf("duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
