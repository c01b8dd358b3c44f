package dingcrypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
)

// RobotWindow is how far a robot timestamp may be from the receiver's clock:
// DingTalk rejects webhook calls signed more than an hour away, and asks
// outgoing-robot receivers to do the same.
const RobotWindow = time.Hour

// RobotSign returns the signature of a custom group robot (自定义机器人)
// webhook call: base64(HMAC-SHA256(key=secret, timestamp+"\n"+secret)).
// The value is not yet URL-escaped: put it in url.Values (which escapes it
// once) next to the same timestamp, never escape it by hand as well.
func RobotSign(secret string, timestampMillis int64) string {
	var sum [sha256.Size]byte
	robotMAC(secret, strconv.FormatInt(timestampMillis, 10), &sum)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func robotMAC(secret, timestamp string, sum *[sha256.Size]byte) {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'\n'})
	m.Write([]byte(secret))
	m.Sum(sum[:0])
}

// VerifyRobotCallback checks the headers DingTalk sends with a message to an
// enterprise robot's HTTP endpoint (the outgoing direction): timestamp is in
// milliseconds and must lie within RobotWindow of now, and sign must be
// base64(HMAC-SHA256(key=appSecret, timestamp+"\n"+appSecret)). It returns
// an *Error of KindBadTimestamp, KindExpiredTimestamp or KindBadSignature.
func VerifyRobotCallback(appSecret, timestamp, sign string, now time.Time) error {
	if appSecret == "" {
		return newError(KindBadConfig, "empty app secret")
	}
	ms, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || ms < 0 {
		return newError(KindBadTimestamp, "timestamp header is not a millisecond count")
	}
	d := now.Sub(time.UnixMilli(ms))
	if d < -RobotWindow || d > RobotWindow {
		return newError(KindExpiredTimestamp, "timestamp header is more than an hour from now")
	}
	var want [sha256.Size]byte
	robotMAC(appSecret, timestamp, &want)
	got := make([]byte, base64.StdEncoding.DecodedLen(len(sign)))
	n, err := base64.StdEncoding.Decode(got, []byte(sign))
	if err != nil || subtle.ConstantTimeCompare(got[:n], want[:]) != 1 {
		return newError(KindBadSignature, "sign header does not match")
	}
	return nil
}

// VerifyRobotRequest is VerifyRobotCallback on the "timestamp" and "sign"
// headers of r.
func VerifyRobotRequest(r *http.Request, appSecret string, now time.Time) error {
	return VerifyRobotCallback(appSecret, r.Header.Get("timestamp"), r.Header.Get("sign"), now)
}
