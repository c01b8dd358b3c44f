package dingtalktest

import (
	"net/http"
	"time"
)

type qpsWindow struct {
	sec int64
	n   int
}

// qpsState limits calls per app × API per clock second (fixed windows).
type qpsState struct {
	def    int
	perAPI map[string]int
	win    map[string]*qpsWindow
}

// SetQPSLimit changes the per-second limit of api at run time; 0 removes
// it. The empty api sets the default for every API except tokens.
func (s *Server) SetQPSLimit(api string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if api == "" {
		s.qps.def = n
		return
	}
	if s.qps.perAPI == nil {
		s.qps.perAPI = map[string]int{}
	}
	s.qps.perAPI[apiName(api)] = n
}

// checkQPS counts an accepted call or answers the throttling error. The
// caller holds s.mu.
func (s *Server) checkQPS(api string, rt route, now time.Time) (reply, bool) {
	limit, set := s.qps.perAPI[api]
	if !set && !rt.tokenAPI {
		limit = s.qps.def
	}
	if limit <= 0 {
		return reply{}, false
	}
	if s.qps.win == nil {
		s.qps.win = map[string]*qpsWindow{}
	}
	w := s.qps.win[api]
	if w == nil {
		w = &qpsWindow{}
		s.qps.win[api] = w
	}
	sec := now.Unix()
	if w.sec != sec {
		w.sec, w.n = sec, 0
	}
	if w.n >= limit {
		if rt.gen == genNew {
			return newFail(http.StatusForbidden, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
				"调用该接口触发了限流，请稍后重试"), true
		}
		return fail(90018, "当前企业调用该接口超过每秒限流阈值，请降低调用频率"), true
	}
	w.n++
	return reply{}, false
}

// quotaState counts non-exempt calls per natural month.
type quotaState struct {
	limit int
	month string
	used  int
}

// QuotaUsed returns the non-exempt calls counted this month.
func (s *Server) QuotaUsed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quota.month != s.now().In(chinaTime).Format("2006-01") {
		return 0
	}
	return s.quota.used
}

func (s *Server) checkQuota(rt route, now time.Time) (reply, bool) {
	if !rt.quota {
		return reply{}, false
	}
	m := now.In(chinaTime).Format("2006-01")
	if s.quota.month != m {
		s.quota.month, s.quota.used = m, 0
	}
	if s.quota.limit > 0 && s.quota.used >= s.quota.limit {
		if rt.gen == genNew {
			return newFail(http.StatusForbidden, "Forbidden.AccessDenied.ApiCountLimitForOrg", "当前组织本月调用次数已达上限"), true
		}
		return fail(90020, "当前组织本月API调用次数已达上限"), true
	}
	s.quota.used++
	return reply{}, false
}

// DingTalk's per-IP protection.
const (
	ipBlockCalls  = 10000
	ipBlockWindow = 20 * time.Second
	ipBlockTime   = 5 * time.Minute
)

// ipLimiter remembers the times of the last n calls in a ring.
type ipLimiter struct {
	ring          []time.Time
	next          int
	window, block time.Duration
	until         time.Time
}

func newIPLimiter(n int, window, block time.Duration) *ipLimiter {
	return &ipLimiter{ring: make([]time.Time, n), window: window, block: block}
}

// blocked records a call at now and reports whether it is refused. The
// caller holds s.mu.
func (l *ipLimiter) blocked(now time.Time) bool {
	if now.Before(l.until) {
		return true
	}
	oldest := l.ring[l.next]
	l.ring[l.next] = now
	l.next = (l.next + 1) % len(l.ring)
	if !oldest.IsZero() && now.Sub(oldest) < l.window {
		l.until = now.Add(l.block)
		return true
	}
	return false
}
