package notify

import "time"

// SetCrash makes s stop at the named point, as a killed process would:
// no write of any kind after it. Points: "claimed" (idempotency key
// claimed), "parts-recorded", "claimed-part", "sent-part" (DingTalk
// answered, the answer is not recorded) and "recorded-part" (between two
// parts).
func SetCrash(s *Service, fn func(point string, part int) bool) { s.crash = fn }

// ErrCrashed is what work stopped by SetCrash returns.
var ErrCrashed = errCrashed

// SetAnswerWait shortens how long s waits for another request's answer.
func SetAnswerWait(s *Service, d time.Duration) { s.idem.wait = d }
