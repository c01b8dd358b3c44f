// Package dingtalktest provides a fake DingTalk (钉钉) open platform server
// for tests and for the local simulator behind `dingfn dev`.
//
// NewServer starts an httptest server that serves the old API (oapi:
// token in the access_token query parameter or form body, HTTP 200 with an
// errcode envelope) and the new API (/v1.0: token in the
// x-acs-dingtalk-access-token header, HTTP status plus
// {code,message,requestid}) on one host, so a client is configured with
// s.URL as both base URLs:
//
//	s := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
//	defer s.Close()
//	c, _ := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL))
//
// # What is served
//
//   - Tokens: gettoken, /v1.0/oauth2/accessToken (one shared app token; a
//     fetch within validity returns the same token and extends it; 42001 after
//     expiry; InvalidateTokens for forced invalidation), get_jsapi_ticket and
//     /v1.0/oauth2/jsapiTickets (renewed on refetch, 24 h hard limit).
//   - Login: topapi/v2/user/getuserinfo with one-time 免登 codes
//     (NewAuthCode), /v1.0/oauth2/userAccessToken with login codes
//     (NewLoginCode) and refresh tokens, /v1.0/contact/users/me.
//   - Contacts (通讯录): departments v2 listsub, listsubid, get, create,
//     update, delete; users v2 list, listsimple, listid, get, create, update,
//     delete, getbyunionid; role/list and role/getrolegroup.
//   - Work notices (工作通知): asyncsend_v2, getsendprogress, getsendresult,
//     recall, with the silent drops (same content to a user once a day, 500
//     per user per day, 5000 recipients per call and per minute) that still
//     answer success and show up in getsendresult's forbidden_list.
//   - Group robots: robot/send with 加签 verification, keywords, the
//     Content-Type check (43004) and 20 messages a minute, then 410100 for 10
//     minutes.
//   - The app robot: one-to-one and group sends, recalls, read status
//     (oToMessages/readStatus, groupMessages/query paged by 200), session
//     webhook replies, and received files: AddChatbotFile's downloadCode
//     traded at messageFiles/download for a signed URL the fake serves.
//   - Approvals: topapi/processinstance create, get, listids and the /v1.0
//     workflow equivalents.
//   - Callbacks: call_back register (with the check_url push and its 1500 ms
//     deadline), get, update, delete, get_call_back_failed_result (200 per
//     call); PushEvent and DeliverEvent push encrypted events and verify the
//     encrypted "success" reply.
//   - Attendance, external contacts (外部联系人), cspace/get_custom_space.
//   - An unknown topapi path answers errcode 22, an unknown /v1.0 path 404.
//
// topapi bodies are accepted as JSON and as form-urlencoded (objects as
// JSON strings). Reply bodies for the demo organisation are pinned in
// testdata/replies.
//
// # Organisation
//
// The directory is generated (GenerateOrg, deterministic, 100 000 users in
// well under a second), the small DemoOrg with Chinese names, or loaded from
// JSON (LoadOrg). Tests change it with AddUser, MoveUser, RenameUser,
// RemoveUser and the department equivalents; WithAutoEvents turns every
// change into a pushed contact event.
//
// # Time, limits and faults
//
// Time comes from WithClock (use a ManualClock), so token expiry, QPS
// windows, per-day and per-minute limits are tested without sleeping.
// WithQPSLimit / WithAPIQPSLimit / SetQPSLimit enforce per-API limits (90018
// or 403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi); WithMonthlyQuota
// the monthly quota for non-exempt APIs (90020); WithIPBlocking the per-IP
// block. InjectFault answers chosen calls with -1 busy, 502, a slow answer
// (released by a channel, a real-time delay, the client giving up or
// Close), a dropped connection before or after the call ran (the
// ambiguous failure), a per-IP block (JSON or page), a proxy's HTML error
// page, or any errcode/status.
//
// Server.Transport serves requests in process, without a network round
// trip. A client built on it inside a testing/synctest bubble (with the
// Server created outside it) runs on the bubble's fake clock, rate
// limiters and retry waits included, so minutes of DingTalk time take
// none:
//
//	s := dingtalktest.NewServer(dingtalktest.WithAPIQPSLimit("topapi/v2/user/get", 5))
//	synctest.Test(t, func(t *testing.T) {
//		c, _ := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL),
//			dingtalk.WithHTTPClient(&http.Client{Transport: s.Transport()}))
//		…
//	})
//
// Every request is recorded (Calls, CallCount), and so is every accepted
// work notice (WorkNotices, NoticesDeliveredTo), robot message
// (RobotMessages), approval (ProcessInstances) and external contact.
//
// API names used by CallCount, InjectFault and the QPS options are request
// paths without the leading slash, e.g. "gettoken", "topapi/v2/user/get" or
// "v1.0/oauth2/accessToken".
//
// Where DingTalk's documentation gives no error code the fake uses the
// closest documented one; see the constants and handler comments.
package dingtalktest
