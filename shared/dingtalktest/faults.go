package dingtalktest

import (
	"cmp"
	"math"
	"net/http"
	"time"
)

// FaultKind is a kind of injected failure.
type FaultKind int

const (
	// FaultNone marks a call no fault answered.
	FaultNone FaultKind = iota
	// FaultBusy answers errcode -1 "系统繁忙" (old API) or 500 systemError
	// (new API) without running the call.
	FaultBusy
	// FaultBadGateway answers HTTP 502 with an HTML body, as DingTalk's
	// gateway does, without running the call.
	FaultBadGateway
	// FaultSlow holds the request until Fault.Release is closed,
	// Fault.Delay (real time) passes, the client gives up or the server
	// closes; then the call runs normally if the client is still there.
	FaultSlow
	// FaultDrop closes the connection without running the call.
	FaultDrop
	// FaultDropAfter runs the call (its effects happen) and then closes
	// the connection without answering: the ambiguous failure.
	FaultDropAfter
	// FaultIPBlock answers the per-IP block's non-envelope JSON
	// ({"status":1111,"punish":"deny",…}).
	FaultIPBlock
	// FaultTokenInvalid answers 88/sub_code "40014" (old API) or 400
	// InvalidAuthentication (new API), whatever token was sent.
	FaultTokenInvalid
	// FaultRateLimited answers 90018 (old API) or 403
	// Forbidden.AccessDenied.QpsLimitForAppkeyAndApi (new API).
	FaultRateLimited
	// FaultQuotaExhausted answers 90020 (old API) or 403
	// Forbidden.AccessDenied.ApiCountLimitForOrg (new API).
	FaultQuotaExhausted
	// FaultError answers the error described by the Fault's Errcode,
	// SubCode (old API) or Status and Code (new API) — for example 88 with
	// SubCode "60011" / 403 Forbidden.AccessDenied.AccessTokenPermissionDenied
	// for a missing permission, or 60020 / 403 …IpNotInWhiteList.
	FaultError
	// FaultPage answers an HTML page with Status (default 404), as a proxy
	// or gateway in front of DingTalk does for a wrong path or a refused
	// request, without running the call. Message, if set, is the page.
	FaultPage
	// FaultIPBlockPage answers the per-IP block as an HTML page (status
	// Status, default 200) instead of FaultIPBlock's JSON. DingTalk says
	// only that the block may be a page; this one is modelled on the x5
	// gateway's (source "x5" in the JSON form), which sends the browser to
	// its punish path with an x5secdata token.
	FaultIPBlockPage
	// FaultEmptyList answers a directory listing (department listsub and
	// listsubid, user list, listsimple and listid) with success and nothing
	// in it, without running the call: what a narrowed contact scope or a
	// misbehaving API looks like to a directory sync. Other APIs run
	// normally.
	FaultEmptyList
)

var faultNames = [...]string{"none", "busy", "bad-gateway", "slow", "drop", "drop-after", "ip-block", "token-invalid", "rate-limited", "quota-exhausted", "error", "page", "ip-block-page", "empty-list"}

// emptyListings are the answers of FaultEmptyList, by API.
var emptyListings = map[string]func() map[string]any{
	"topapi/v2/department/listsub":   func() map[string]any { return map[string]any{"result": []any{}} },
	"topapi/v2/department/listsubid": func() map[string]any { return map[string]any{"result": map[string]any{"dept_id_list": []any{}}} },
	"topapi/v2/user/list": func() map[string]any {
		return map[string]any{"result": map[string]any{"has_more": false, "list": []any{}}}
	},
	"topapi/user/listsimple": func() map[string]any {
		return map[string]any{"result": map[string]any{"has_more": false, "list": []any{}}}
	},
	"topapi/user/listid": func() map[string]any { return map[string]any{"result": map[string]any{"userid_list": []any{}}} },
}

// String names the fault kind, e.g. "bad-gateway".
func (k FaultKind) String() string {
	if int(k) < len(faultNames) {
		return faultNames[k]
	}
	return "unknown"
}

// Fault describes an injected failure.
type Fault struct {
	Kind FaultKind
	// Times is how many matching calls the fault answers; 0 means every
	// call until ClearFaults.
	Times int
	// Share, between 0 and 1, makes the fault answer that fraction of the
	// matching calls, spread evenly and deterministically (with 0.3, the
	// 4th, 7th, 10th, … calls: 3 in every 10); the others pass to the next
	// rule. 0 means every matching call.
	Share float64
	// Delay bounds a FaultSlow wait (0: no bound). A fault with Delay
	// alone (no Release, no Waiting) waits only on a timer and the
	// request's context, so inside a testing/synctest bubble (through
	// Transport) the delay passes on the bubble's clock.
	Delay time.Duration
	// Release ends a FaultSlow wait when closed.
	Release <-chan struct{}
	// Waiting, if set, receives a value when a FaultSlow call starts
	// waiting, so a test knows the call is parked.
	Waiting chan<- struct{}
	// Errcode and SubCode shape a FaultError on the old API (Errcode 88
	// when only SubCode is set); Status (default 400) and Code on the new
	// API. Message is the errmsg or message.
	Errcode int
	SubCode string
	Status  int
	Code    string
	Message string
}

type faultRule struct {
	api  string
	seen int // matching calls offered to a Share rule
	Fault
}

// InjectFault makes calls to api (path with or without the leading slash;
// "" for every API) fail as f describes. Rules are matched in the order
// they were injected.
func (s *Server) InjectFault(api string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultRule{api: apiName(api), Fault: f})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// takeFault returns the fault answering a call to api, consuming one use.
// The caller holds s.mu.
func (s *Server) takeFault(api string) *Fault {
	for i, r := range s.faults {
		if r.api != "" && r.api != api {
			continue
		}
		if r.Share > 0 {
			r.seen++
			if math.Floor(float64(r.seen)*r.Share) == math.Floor(float64(r.seen-1)*r.Share) {
				continue
			}
		}
		f := r.Fault
		if r.Times > 0 {
			r.Times--
			if r.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &f
	}
	return nil
}

// applyFault answers or delays a call. handled means the response is
// finished (written or dropped); otherwise rep, when set, is the answer
// and, when empty, the call proceeds.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault, gen generation, idx uint64) (rep reply, handled bool) {
	switch f.Kind {
	case FaultBusy:
		if gen == genNew {
			return newFail(http.StatusInternalServerError, "systemError", "系统繁忙"), false
		}
		return fail(-1, "系统繁忙"), false
	case FaultBadGateway:
		return reply{status: http.StatusBadGateway, ctype: "text/html",
			raw: []byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n")}, false
	case FaultIPBlock:
		return reply{status: http.StatusOK, ctype: "application/json",
			raw: []byte(`{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"` + opaqueID("block", idx) + `"}`)}, false
	case FaultPage:
		page := f.Message
		if page == "" {
			page = "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
		}
		return reply{status: cmp.Or(f.Status, http.StatusNotFound), ctype: "text/html", raw: []byte(page)}, false
	case FaultIPBlockPage:
		return reply{status: cmp.Or(f.Status, http.StatusOK), ctype: "text/html; charset=utf-8",
			raw: []byte(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>访问被拒绝</title></head><body>` +
				`<script>window.location.href="/_____tmd_____/punish?x5secdata=` + opaqueID("block", idx) + `&x5step=1"</script></body></html>`)}, false
	case FaultTokenInvalid:
		if gen == genNew {
			return newFail(http.StatusBadRequest, "InvalidAuthentication", "不合法的access_token"), false
		}
		return fail88("40014", "不合法的access_token"), false
	case FaultRateLimited:
		if gen == genNew {
			return newFail(http.StatusForbidden, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "调用该接口触发了限流，请稍后重试"), false
		}
		return fail(90018, "当前企业调用该接口超过每秒限流阈值，请降低调用频率"), false
	case FaultQuotaExhausted:
		if gen == genNew {
			return newFail(http.StatusForbidden, "Forbidden.AccessDenied.ApiCountLimitForOrg", "当前组织本月调用次数已达上限"), false
		}
		return fail(90020, "当前组织本月API调用次数已达上限"), false
	case FaultError:
		if gen == genNew {
			st := f.Status
			if st == 0 {
				st = http.StatusBadRequest
			}
			return newFail(st, f.Code, f.Message), false
		}
		if f.SubCode != "" {
			rep := fail88(f.SubCode, f.Message)
			if f.Errcode != 0 {
				rep.body["errcode"] = f.Errcode
			}
			return rep, false
		}
		return fail(f.Errcode, f.Message), false
	case FaultEmptyList:
		if empty, found := emptyListings[apiName(r.URL.Path)]; found {
			return ok(empty()), false
		}
	case FaultDrop:
		s.record(idx, reply{}, f.Kind)
		dropConn(w)
		return reply{}, true
	case FaultSlow:
		if f.Delay > 0 && f.Release == nil && f.Waiting == nil {
			t := time.NewTimer(f.Delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				s.record(idx, reply{}, f.Kind)
				return reply{}, true
			}
			return reply{}, false
		}
		var timer <-chan time.Time
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			defer t.Stop()
			timer = t.C
		}
		if f.Waiting != nil {
			select {
			case f.Waiting <- struct{}{}:
			case <-s.closed:
			case <-r.Context().Done():
			}
		}
		select {
		case <-f.Release:
		case <-timer:
		case <-s.closed:
		case <-r.Context().Done():
		}
		if r.Context().Err() != nil {
			// The client gave up: the call never runs.
			s.record(idx, reply{}, f.Kind)
			return reply{}, true
		}
	}
	return reply{}, false
}
