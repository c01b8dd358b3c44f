package dingcrypto

import (
	"errors"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestJSAPISignatureReference(t *testing.T) {
	t.Parallel()
	// The reference's [calc] vector, which pins both hash choices.
	const (
		ticket = "abc"
		nonce  = "nonce"
		ts     = 1700000000
		page   = "https://example.com/page?a=1"
	)
	if got, want := JSAPISignature(ticket, nonce, ts, page), "a3d889a22dbac1236006b87b457c17319d9a250d"; got != want {
		t.Errorf("SHA-1 = %s, want %s", got, want)
	}
	if got, want := JSAPISignatureSHA256(ticket, nonce, ts, page), "92db4b2d81833a57bd67f2c2cfd44285a65e786a9e55f9d60379380a94ca0ca1"; got != want {
		t.Errorf("SHA-256 = %s, want %s", got, want)
	}
	base := JSAPISignature(ticket, nonce, ts, page)
	tests := []struct {
		name, url string
		same      bool
	}{
		{"fragment dropped", page + "#/orders/1", true},
		{"empty fragment dropped", page + "#", true},
		{"query re-encoded", "https://example.com/page?a=%31", false},
		{"explicit default port", "https://example.com:443/page?a=1", false},
		{"trailing slash", "https://example.com/page/?a=1", false},
		{"scheme differs", "http://example.com/page?a=1", false},
	}
	for _, tt := range tests {
		if got := JSAPISignature(ticket, nonce, ts, tt.url); (got == base) != tt.same {
			t.Errorf("%s: signature equal to base = %v, want %v", tt.name, got == base, tt.same)
		}
	}
}

func TestRobotSignReference(t *testing.T) {
	t.Parallel()
	if got, want := RobotSign("this is secret", 1700000000000), "sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0="; got != want {
		t.Errorf("RobotSign = %s, want %s", got, want)
	}
}

func TestVerifyRobotCallback(t *testing.T) {
	t.Parallel()
	const secret = "appSecretForTests"
	now := time.UnixMilli(1700000000000)
	ms := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).UnixMilli(), 10) }
	sign := func(ts string) string {
		v, _ := strconv.ParseInt(ts, 10, 64)
		return RobotSign(secret, v)
	}
	tests := []struct {
		name, secret, ts, sign string
		want                   error
	}{
		{"fresh", secret, ms(0), sign(ms(0)), nil},
		{"59 minutes old", secret, ms(-59 * time.Minute), sign(ms(-59 * time.Minute)), nil},
		{"59 minutes ahead", secret, ms(59 * time.Minute), sign(ms(59 * time.Minute)), nil},
		{"61 minutes old", secret, ms(-61 * time.Minute), sign(ms(-61 * time.Minute)), ErrExpiredTimestamp},
		{"61 minutes ahead", secret, ms(61 * time.Minute), sign(ms(61 * time.Minute)), ErrExpiredTimestamp},
		{"seconds, not ms", secret, strconv.FormatInt(now.Unix(), 10), sign(strconv.FormatInt(now.Unix(), 10)), ErrExpiredTimestamp},
		{"missing timestamp", secret, "", sign(ms(0)), ErrBadTimestamp},
		{"garbage timestamp", secret, "soon", sign(ms(0)), ErrBadTimestamp},
		{"sign for another time", secret, ms(0), sign(ms(time.Second)), ErrBadSignature},
		{"sign with another secret", "other", ms(0), sign(ms(0)), ErrBadSignature},
		{"url-escaped sign", secret, ms(0), "%2B" + sign(ms(0))[1:], ErrBadSignature},
		{"missing sign", secret, ms(0), "", ErrBadSignature},
		{"not base64", secret, ms(0), "***", ErrBadSignature},
		{"no secret configured", "", ms(0), sign(ms(0)), ErrBadConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyRobotCallback(tt.secret, tt.ts, tt.sign, now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("VerifyRobotCallback = %v, want %v", err, tt.want)
			}
		})
	}

	r := httptest.NewRequest("POST", "/robot", nil)
	r.Header.Set("timestamp", ms(0))
	r.Header.Set("sign", sign(ms(0)))
	if err := VerifyRobotRequest(r, secret, now); err != nil {
		t.Errorf("VerifyRobotRequest = %v", err)
	}
}
