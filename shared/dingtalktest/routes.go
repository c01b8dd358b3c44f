package dingtalktest

import "net/http"

var (
	get     = []string{http.MethodGet}
	post    = []string{http.MethodPost}
	getPost = []string{http.MethodGet, http.MethodPost}
)

// buildRoutes maps every served path (without the leading slash) to its
// route. Old-API GET endpoints also accept POST with a query, as DingTalk
// does; topapi endpoints are POST only.
func (s *Server) buildRoutes() map[string]route {
	old := func(methods []string, quota bool, fn func(*request) reply) route {
		return route{gen: genOld, methods: methods, auth: authApp, quota: quota, fn: fn}
	}
	v1 := func(methods []string, quota bool, fn func(*request) reply) route {
		return route{gen: genNew, methods: methods, auth: authApp, quota: quota, fn: fn}
	}
	const exempt, counted = false, true
	rs := map[string]route{
		// Tokens and tickets.
		"gettoken":                    {gen: genOld, methods: getPost, auth: authNone, tokenAPI: true, fn: s.getToken},
		"v1.0/oauth2/accessToken":     {gen: genNew, methods: post, auth: authNone, tokenAPI: true, fn: s.postAccessToken},
		"get_jsapi_ticket":            {gen: genOld, methods: getPost, auth: authApp, tokenAPI: true, fn: s.getJSAPITicket},
		"v1.0/oauth2/jsapiTickets":    {gen: genNew, methods: post, auth: authApp, tokenAPI: true, fn: s.postJSAPITicket},
		"topapi/v2/user/getuserinfo":  old(post, exempt, s.getUserInfoByCode),
		"v1.0/oauth2/userAccessToken": {gen: genNew, methods: post, auth: authNone, fn: s.postUserAccessToken},
		"v1.0/contact/users/me":       {gen: genNew, methods: get, auth: authUser, fn: s.getUsersMe},

		// Contacts.
		"topapi/v2/department/listsub":   old(post, exempt, s.deptListSub),
		"topapi/v2/department/listsubid": old(post, exempt, s.deptListSubID),
		"topapi/v2/department/get":       old(post, exempt, s.deptGet),
		"topapi/v2/department/create":    old(post, exempt, s.deptCreate),
		"topapi/v2/department/update":    old(post, exempt, s.deptUpdate),
		"topapi/v2/department/delete":    old(post, exempt, s.deptDelete),
		"topapi/v2/user/list":            old(post, exempt, s.userList),
		"topapi/user/listsimple":         old(post, exempt, s.userListSimple),
		"topapi/user/listid":             old(post, exempt, s.userListID),
		"topapi/v2/user/get":             old(post, exempt, s.userGet),
		"topapi/v2/user/create":          old(post, exempt, s.userCreate),
		"topapi/v2/user/update":          old(post, exempt, s.userUpdate),
		"topapi/v2/user/delete":          old(post, exempt, s.userDelete),
		"topapi/user/getbyunionid":       old(post, exempt, s.userGetByUnionID),
		"topapi/role/list":               old(post, exempt, s.roleList),
		"topapi/role/getrolegroup":       old(post, exempt, s.roleGetGroup),

		// Work notices (工作通知).
		"topapi/message/corpconversation/asyncsend_v2":    old(post, counted, s.noticeSend),
		"topapi/message/corpconversation/getsendprogress": old(post, counted, s.noticeProgress),
		"topapi/message/corpconversation/getsendresult":   old(post, counted, s.noticeResult),
		"topapi/message/corpconversation/recall":          old(post, counted, s.noticeRecall),

		// Group robot webhook: its own token, no app token, no API quota.
		"robot/send": {gen: genRobot, methods: post, auth: authNone, fn: s.robotSend},

		// The app robot (企业机器人): its messages on the new API, and the
		// session webhook of a received message (its session is the
		// credential).
		"v1.0/robot/oToMessages/batchSend":   v1(post, counted, s.chatbotSendUsers),
		"v1.0/robot/groupMessages/send":      v1(post, counted, s.chatbotSendGroup),
		"v1.0/robot/otoMessages/batchRecall": v1(post, counted, s.chatbotRecallUsers),
		"v1.0/robot/groupMessages/recall":    v1(post, counted, s.chatbotRecallGroup),
		"v1.0/robot/oToMessages/readStatus":  v1(get, counted, s.chatbotReadStatus),
		"v1.0/robot/groupMessages/query":     v1(post, counted, s.chatbotGroupRead),
		"robot/sendBySession":                {gen: genRobot, methods: post, auth: authNone, fn: s.sessionSend},
		// Files people sent the robot: a downloadCode traded for a signed
		// URL, and the file at that URL (every name under the prefix).
		"v1.0/robot/messageFiles/download": v1(post, counted, s.chatbotDownload),
		chatFilePrefix:                     {gen: genRobot, methods: get, auth: authNone, fn: s.chatbotFile},

		// Approvals (审批).
		"topapi/processinstance/create":             old(post, counted, s.processCreate),
		"topapi/processinstance/get":                old(post, counted, s.processGet),
		"topapi/processinstance/listids":            old(post, counted, s.processListIDs),
		"v1.0/workflow/processes/instanceIds/query": v1(post, counted, s.v1ProcessListIDs),

		// Event callback management.
		"call_back/register_call_back":          old(post, counted, s.callbackRegister),
		"call_back/get_call_back":               old(getPost, counted, s.callbackGet),
		"call_back/update_call_back":            old(post, counted, s.callbackUpdate),
		"call_back/delete_call_back":            old(getPost, counted, s.callbackDelete),
		"call_back/get_call_back_failed_result": old(getPost, counted, s.callbackFailed),

		// Attendance (考勤).
		"topapi/attendance/listschedule":    old(post, counted, s.attendanceSchedules),
		"topapi/attendance/getsimplegroups": old(post, counted, s.attendanceGroups),
		"topapi/attendance/group/query":     old(post, counted, s.attendanceGroupQuery),

		// External contacts (外部联系人): contacts family, quota exempt.
		"topapi/extcontact/listlabelgroups": old(post, exempt, s.extLabelGroups),
		"topapi/extcontact/list":            old(post, exempt, s.extList),
		"topapi/extcontact/create":          old(post, exempt, s.extCreate),
		"topapi/extcontact/update":          old(post, exempt, s.extUpdate),
		"topapi/extcontact/delete":          old(post, exempt, s.extDelete),

		// Custom space (钉盘).
		"cspace/get_custom_space": old(getPost, counted, s.cspaceGet),
	}
	// GET and POST /v1.0/workflow/processInstances share a path.
	rs["v1.0/workflow/processInstances"] = v1(getPost, counted, func(rq *request) reply {
		if rq.r.Method == http.MethodGet {
			return s.v1ProcessGet(rq)
		}
		return s.v1ProcessCreate(rq)
	})
	return rs
}
