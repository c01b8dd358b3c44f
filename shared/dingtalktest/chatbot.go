package dingtalktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// The app robot's limits, as DingTalk documents them.
const (
	chatbotMaxUsers      = 20
	chatbotMaxParamBytes = 15000
	chatbotMaxRecallKeys = 20
	chatbotKeyLifetime   = 24 * time.Hour
	// DefaultSessionTTL is how long a received message's session webhook
	// works: every example DingTalk publishes shows about 90 minutes.
	DefaultSessionTTL = 90 * time.Minute
	// DownloadCodeTTL is how long a received file's downloadCode works on
	// the fake, and DownloadURLTTL the URL it is traded for. DingTalk says
	// both expire, not when; the fake assumes an hour and ten minutes.
	DownloadCodeTTL = time.Hour
	DownloadURLTTL  = 10 * time.Minute
	// chatbotReadPage is the most readers a group read-status page lists.
	chatbotReadPage = 200
)

// chatbotParams are the message templates (msgKey) the app robot sends
// and each one's required msgParam fields.
var chatbotParams = map[string][]string{
	"sampleText":        {"content"},
	"sampleMarkdown":    {"title", "text"},
	"sampleImageMsg":    {"photoURL"},
	"sampleLink":        {"title", "text", "picUrl", "messageUrl"},
	"sampleActionCard":  {"title", "text", "singleTitle", "singleURL"},
	"sampleActionCard2": {"title", "text"},
	"sampleActionCard3": {"title", "text"},
	"sampleActionCard4": {"title", "text"},
	"sampleActionCard5": {"title", "text"},
	"sampleActionCard6": {"title", "text"},
	"sampleAudio":       {"mediaId", "duration"},
	"sampleFile":        {"mediaId", "fileName", "fileType"},
	"sampleVideo":       {"duration", "videoMediaId", "videoType", "picMediaId"},
}

// ChatGroup is a group conversation the app robot is a member of.
type ChatGroup struct {
	// ConversationID is the openConversationId (cid…).
	ConversationID string
	Title          string
	Members        []string
}

// ChatbotSend is one message the app robot sent through the new API.
type ChatbotSend struct {
	ProcessQueryKey string
	// ConversationID is set for a group send; UserIDs lists who got it
	// (the group's members for a group send).
	ConversationID string
	UserIDs        []string
	MsgKey         string
	MsgParam       map[string]string
	Time           time.Time
	Recalled       bool
	// ReadBy lists who read it (MarkChatbotRead).
	ReadBy []string
}

// SessionReply is one message posted to a received message's session
// webhook (the robot answering in the conversation).
type SessionReply struct {
	// MsgID is the received message answered; ConversationID its
	// conversation.
	MsgID          string
	ConversationID string
	MsgType        string
	// Body is the reply as posted.
	Body json.RawMessage
	Time time.Time
}

type chatSession struct {
	msgID, conv string
	expires     time.Time
}

type chatbotState struct {
	code      string
	userID    string // the robot's encrypted id in messages
	groups    map[string]*ChatGroup
	order     []string
	sends     map[string]*ChatbotSend
	sendOrder []string
	sessions  map[string]*chatSession
	replies   []SessionReply
	files     map[string]*chatFile // by downloadCode
	urls      map[string]*chatURL  // by the download URL's file name
	n         uint64
}

func (c *chatbotState) init(code string) {
	c.code = code
	c.userID = "$:LWCP_v1:$" + opaqueID("chatbot", 0)
	c.groups, c.sends, c.sessions = map[string]*ChatGroup{}, map[string]*ChatbotSend{}, map[string]*chatSession{}
	c.files, c.urls = map[string]*chatFile{}, map[string]*chatURL{}
}

// WithRobotCode sets the app robot's robotCode (default: the appKey).
func WithRobotCode(code string) Option {
	return func(c *config) error {
		if code == "" {
			return fmt.Errorf("dingtalktest: WithRobotCode: empty code")
		}
		c.robotCode = code
		return nil
	}
}

// RobotCode returns the app robot's robotCode.
func (s *Server) RobotCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chatbot.code
}

// AddChatGroup adds a group conversation with the app robot in it and
// returns its openConversationId.
func (s *Server) AddChatGroup(title string, members ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatbot.n++
	cid := "cid" + opaqueID("group", s.chatbot.n)[:22] + "=="
	s.chatbot.groups[cid] = &ChatGroup{ConversationID: cid, Title: title, Members: slices.Clone(members)}
	s.chatbot.order = append(s.chatbot.order, cid)
	return cid
}

// ChatGroups returns the group conversations in creation order.
func (s *Server) ChatGroups() []ChatGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ChatGroup, 0, len(s.chatbot.order))
	for _, id := range s.chatbot.order {
		g := *s.chatbot.groups[id]
		g.Members = slices.Clone(g.Members)
		out = append(out, g)
	}
	return out
}

// ChatbotSends returns what the app robot sent, in order.
func (s *Server) ChatbotSends() []ChatbotSend {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ChatbotSend, 0, len(s.chatbot.sendOrder))
	for _, k := range s.chatbot.sendOrder {
		m := *s.chatbot.sends[k]
		m.UserIDs, m.ReadBy, m.MsgParam = slices.Clone(m.UserIDs), slices.Clone(m.ReadBy), maps.Clone(m.MsgParam)
		out = append(out, m)
	}
	return out
}

// MarkChatbotRead records that userid read the send processQueryKey.
func (s *Server) MarkChatbotRead(processQueryKey, userid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.chatbot.sends[processQueryKey]; m != nil && !slices.Contains(m.ReadBy, userid) {
		m.ReadBy = append(m.ReadBy, userid)
	}
}

// SessionReplies returns what was posted to session webhooks, in order.
func (s *Server) SessionReplies() []SessionReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.chatbot.replies)
	for i := range out {
		out[i].Body = slices.Clone(out[i].Body)
	}
	return out
}

// ChatMessage describes a message a person sends the app robot, for
// ChatbotMessage and PostChatbotMessage.
type ChatMessage struct {
	// From is the sender's userid; one outside the organisation is sent
	// as an external member (no senderStaffId).
	From string
	// ConversationID is a group's openConversationId (the robot is
	// @-mentioned there); empty is a one-to-one chat with the robot.
	ConversationID string
	// MsgType is the msgtype, default "text".
	MsgType string
	// Text is a text message's content.
	Text string
	// Content is the content object of other msgtypes (picture, audio,
	// video, file, richText or any other).
	Content map[string]any
	// AtUserIDs are people @-mentioned besides the robot.
	AtUserIDs []string
	// MsgID is the message's msgId; empty makes a new one. Posting the
	// same MsgID again is DingTalk delivering the message again.
	MsgID string
	// CreateAt is when the message was sent; zero is now.
	CreateAt time.Time
	// SessionTTL is how long the session webhook works, from CreateAt;
	// zero is DefaultSessionTTL.
	SessionTTL time.Duration
}

// ChatbotMessage builds the JSON DingTalk posts to the robot's message URL
// for m, and opens m's session webhook on the fake (robot/sendBySession).
func (s *Server) ChatbotMessage(m ChatMessage) (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if m.CreateAt.IsZero() {
		m.CreateAt = now
	}
	if m.SessionTTL == 0 {
		m.SessionTTL = DefaultSessionTTL
	}
	if m.MsgType == "" {
		m.MsgType = "text"
	}
	c := &s.chatbot
	c.n++
	if m.MsgID == "" {
		m.MsgID = "msg" + opaqueID("msgid", c.n)[:22] + "=="
	}
	session := opaqueID("session", c.n)
	body := map[string]any{
		"msgId": m.MsgID, "msgtype": m.MsgType, "createAt": m.CreateAt.UnixMilli(),
		"chatbotCorpId": s.corpID, "chatbotUserId": c.userID, "robotCode": c.code,
		"senderId": "$:LWCP_v1:$" + opaqueID("sender:"+m.From, 0)[:24], "senderNick": m.From,
		"sessionWebhook":            s.URL + "/robot/sendBySession?session=" + session,
		"sessionWebhookExpiredTime": m.CreateAt.Add(m.SessionTTL).UnixMilli(),
	}
	if u := s.dir.users[m.From]; u != nil {
		body["senderStaffId"], body["senderNick"], body["senderCorpId"] = u.UserID, u.Name, s.corpID
		body["isAdmin"] = u.Admin
	}
	text := m.Text
	if m.ConversationID == "" {
		body["conversationType"] = "1"
		body["conversationId"] = "cid" + opaqueID("oto:"+m.From, 0)[:22] + "=="
		body["isInAtList"] = false
		body["atUsers"] = []any{}
	} else {
		g := c.groups[m.ConversationID]
		if g == nil {
			return nil, fmt.Errorf("dingtalktest: chat message: no group %q (AddChatGroup)", m.ConversationID)
		}
		body["conversationType"], body["conversationId"], body["conversationTitle"] = "2", g.ConversationID, g.Title
		body["isInAtList"] = true
		at := []any{map[string]any{"dingtalkId": c.userID}}
		for _, id := range m.AtUserIDs {
			at = append(at, map[string]any{"dingtalkId": "$:LWCP_v1:$" + opaqueID("sender:"+id, 0)[:24], "staffId": id})
		}
		body["atUsers"] = at
		// DingTalk leaves the space that followed the robot's @-mention.
		text = " " + text
	}
	if m.MsgType == "text" {
		body["text"] = map[string]any{"content": text}
	} else if m.Content != nil {
		body["content"] = m.Content
	}
	c.sessions[session] = &chatSession{msgID: m.MsgID, conv: body["conversationId"].(string), expires: m.CreateAt.Add(m.SessionTTL)}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("dingtalktest: chat message: %w", err)
	}
	return b, nil
}

// ChatbotHeaders returns the timestamp and sign headers DingTalk sends with
// a robot message at the fake's current time: sign is
// base64(HMAC-SHA256(appSecret, timestamp+"\n"+appSecret)).
func (s *Server) ChatbotHeaders() http.Header {
	ts := s.now().UnixMilli()
	return http.Header{"Timestamp": {strconv.FormatInt(ts, 10)}, "Sign": {dingcrypto.RobotSign(s.appSecret, ts)}}
}

// ChatDelivery is what PostChatbotMessage sent and got back.
type ChatDelivery struct {
	// Payload is the message as posted.
	Payload json.RawMessage
	// Status and Reply are the receiver's HTTP status and body: the reply
	// message when it answered in the body, {"msgtype":"empty"} when not.
	Status int
	Reply  json.RawMessage
}

// PostChatbotMessage posts m to the robot's message URL url as DingTalk
// does (JSON, signed timestamp and sign headers, through the push client)
// and returns the payload and the answer. It fails when the receiver does
// not answer 200.
func (s *Server) PostChatbotMessage(ctx context.Context, url string, m ChatMessage) (*ChatDelivery, error) {
	payload, err := s.ChatbotMessage(m)
	if err != nil {
		return nil, err
	}
	return s.PostChatbotPayload(ctx, url, payload)
}

// PostChatbotPayload posts a message payload (from ChatbotMessage, or
// written by hand) to url, signed as DingTalk signs it.
func (s *Server) PostChatbotPayload(ctx context.Context, url string, payload json.RawMessage) (*ChatDelivery, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("dingtalktest: post chat message: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range s.ChatbotHeaders() {
		req.Header[k] = v
	}
	resp, err := s.callback.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("dingtalktest: post chat message: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("dingtalktest: read chat reply: %w", err)
	}
	d := &ChatDelivery{Payload: payload, Status: resp.StatusCode, Reply: raw}
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("dingtalktest: robot message URL answered HTTP %d: %.300s", resp.StatusCode, raw)
	}
	return d, nil
}

// POST robot/sendBySession?session=…: a reply in a received message's
// conversation, until the session expires. DingTalk documents neither its
// rate limit nor its error answers; the fake answers an unknown or expired
// session with errcode 300001, and checks bodies as robot/send does.
func (s *Server) sessionSend(rq *request) reply {
	sess := s.chatbot.sessions[rq.r.URL.Query().Get("session")]
	switch {
	case sess == nil:
		return fail(300001, "session does not exist")
	case !rq.now.Before(sess.expires):
		return fail(300001, "session has expired")
	case !isJSON(rq.r):
		return fail(43004, "无效的HTTP HEADER Content-Type")
	}
	var body map[string]any
	if err := json.Unmarshal(rq.body, &body); err != nil || body == nil {
		return fail(40035, "缺少参数 json")
	}
	msgtype, _, refused := robotBody(body)
	if refused != nil {
		return *refused
	}
	s.chatbot.replies = append(s.chatbot.replies, SessionReply{MsgID: sess.msgID, ConversationID: sess.conv,
		MsgType: msgtype, Body: slices.Clone(rq.body), Time: rq.now})
	return ok(nil)
}

// checkBotMessage applies the new API's checks to a send's robotCode,
// msgKey and msgParam.
func (s *Server) checkBotMessage(robotCode, msgKey, msgParam string) (map[string]string, reply, bool) {
	switch {
	case robotCode == "":
		return nil, newFail(http.StatusBadRequest, "invalidParameter.robotCode.empty", "robotCode is empty"), true
	case robotCode != s.chatbot.code:
		return nil, newFail(http.StatusBadRequest, "invalidParameter.robotCode.notExsit", "robotCode does not exist"), true
	case msgKey == "":
		return nil, newFail(http.StatusBadRequest, "invalidParameter.msgKey.empty", "msgKey is empty"), true
	}
	fields, known := chatbotParams[msgKey]
	if !known {
		return nil, newFail(http.StatusBadRequest, "invalidParameter.msgKey.invalid", "msgKey is invalid"), true
	}
	if len(msgParam) > chatbotMaxParamBytes {
		return nil, newFail(http.StatusBadRequest, "invalidParameter.msgParam.tooLong", "msgParam is too long"), true
	}
	var p map[string]string
	if err := json.Unmarshal([]byte(msgParam), &p); err != nil {
		return nil, newFail(http.StatusBadRequest, "invalidParameter.msgParam.invalid", "msgParam is not a JSON object string"), true
	}
	for _, f := range fields {
		if p[f] == "" {
			return nil, newFail(http.StatusBadRequest, "invalidParameter.msgParam.invalid", "msgParam misses "+f), true
		}
	}
	return p, reply{}, false
}

// record stores a send and returns its processQueryKey.
func (c *chatbotState) record(m *ChatbotSend) string {
	c.n++
	m.ProcessQueryKey = opaqueID("pqk", c.n)[:24] + "="
	c.sends[m.ProcessQueryKey] = m
	c.sendOrder = append(c.sendOrder, m.ProcessQueryKey)
	return m.ProcessQueryKey
}

// POST v1.0/robot/oToMessages/batchSend
func (s *Server) chatbotSendUsers(rq *request) reply {
	var in struct {
		RobotCode string   `json:"robotCode"`
		UserIDs   []string `json:"userIds"`
		MsgKey    string   `json:"msgKey"`
		MsgParam  string   `json:"msgParam"`
	}
	if rep, bad := decodeNewBody(rq, &in); bad {
		return rep
	}
	switch {
	case len(in.UserIDs) == 0:
		return newFail(http.StatusBadRequest, "invalidParameter.userIds.empty", "userIds is empty")
	case len(in.UserIDs) > chatbotMaxUsers:
		return newFail(http.StatusBadRequest, "invalidParameter.userIds.overMax", "userIds exceeds 100")
	}
	p, rep, bad := s.checkBotMessage(in.RobotCode, in.MsgKey, in.MsgParam)
	if bad {
		return rep
	}
	invalid, valid := []string{}, []string{}
	for _, id := range in.UserIDs {
		if s.dir.users[id] == nil {
			invalid = append(invalid, id)
		} else if !slices.Contains(valid, id) {
			valid = append(valid, id)
		}
	}
	key := s.chatbot.record(&ChatbotSend{UserIDs: valid, MsgKey: in.MsgKey, MsgParam: p, Time: rq.now})
	return newOK(map[string]any{"processQueryKey": key, "invalidStaffIdList": invalid, "flowControlledStaffIdList": []string{}})
}

// POST v1.0/robot/groupMessages/send
func (s *Server) chatbotSendGroup(rq *request) reply {
	var in struct {
		RobotCode          string `json:"robotCode"`
		OpenConversationID string `json:"openConversationId"`
		MsgKey             string `json:"msgKey"`
		MsgParam           string `json:"msgParam"`
	}
	if rep, bad := decodeNewBody(rq, &in); bad {
		return rep
	}
	p, rep, bad := s.checkBotMessage(in.RobotCode, in.MsgKey, in.MsgParam)
	if bad {
		return rep
	}
	g := s.chatbot.groups[in.OpenConversationID]
	if g == nil {
		return newFail(http.StatusBadRequest, "invalid.openConversationId", "openConversationId is invalid")
	}
	key := s.chatbot.record(&ChatbotSend{ConversationID: g.ConversationID, UserIDs: slices.Clone(g.Members), MsgKey: in.MsgKey, MsgParam: p, Time: rq.now})
	return newOK(map[string]any{"processQueryKey": key})
}

// recall recalls keys of one kind (group sends of conv, or one-to-one
// sends when conv is "").
func (s *Server) chatbotRecall(rq *request, group bool) reply {
	var in struct {
		RobotCode          string   `json:"robotCode"`
		OpenConversationID string   `json:"openConversationId"`
		Keys               []string `json:"processQueryKeys"`
	}
	if rep, bad := decodeNewBody(rq, &in); bad {
		return rep
	}
	switch {
	case in.RobotCode != s.chatbot.code:
		return newFail(http.StatusBadRequest, "invalidParameter.robotCode.notExsit", "robotCode does not exist")
	case len(in.Keys) == 0:
		return newFail(http.StatusBadRequest, "miss.param.processQueryKeys", "processQueryKeys is empty")
	case len(in.Keys) > chatbotMaxRecallKeys:
		return newFail(http.StatusBadRequest, "invalid.processQueryKey", "at most 20 processQueryKeys")
	case group && s.chatbot.groups[in.OpenConversationID] == nil:
		return newFail(http.StatusBadRequest, "invalid.openConversationId", "openConversationId is invalid")
	}
	done, failed := []string{}, map[string]string{}
	for _, k := range in.Keys {
		m := s.chatbot.sends[k]
		switch {
		case m == nil || (m.ConversationID != "") != group || (group && m.ConversationID != in.OpenConversationID):
			failed[k] = "invalid.processQueryKey"
		case rq.now.Sub(m.Time) > chatbotKeyLifetime:
			failed[k] = "processQueryKey.expireTime"
		default:
			m.Recalled = true
			done = append(done, k)
		}
	}
	return newOK(map[string]any{"successResult": done, "failedResult": failed})
}

// POST v1.0/robot/otoMessages/batchRecall
func (s *Server) chatbotRecallUsers(rq *request) reply { return s.chatbotRecall(rq, false) }

// POST v1.0/robot/groupMessages/recall
func (s *Server) chatbotRecallGroup(rq *request) reply { return s.chatbotRecall(rq, true) }

// GET v1.0/robot/oToMessages/readStatus?robotCode=&processQueryKey=
func (s *Server) chatbotReadStatus(rq *request) reply {
	q := rq.r.URL.Query()
	if q.Get("robotCode") != s.chatbot.code {
		return newFail(http.StatusBadRequest, "invalidParameter.robotCode.notExsit", "robotCode does not exist")
	}
	m := s.chatbot.sends[q.Get("processQueryKey")]
	switch {
	case m == nil || m.ConversationID != "":
		return newFail(http.StatusBadRequest, "invalid.processQueryKey", "processQueryKey is invalid")
	case rq.now.Sub(m.Time) > chatbotKeyLifetime:
		return newFail(http.StatusBadRequest, "processQueryKey.expireTime", "processQueryKey has expired")
	}
	status := "SUCCESS"
	if m.Recalled {
		status = "RECALLED"
	}
	list := []map[string]any{}
	for _, id := range m.UserIDs {
		name, read := id, "UNREAD"
		if u := s.dir.users[id]; u != nil {
			name = u.Name
		}
		if slices.Contains(m.ReadBy, id) {
			read = "READ"
		}
		list = append(list, map[string]any{"name": name, "userId": id, "readStatus": read})
	}
	return newOK(map[string]any{"sendStatus": status, "messageReadInfoList": list})
}

// textOf is a session reply's or robot send's text, for tests.
func textOf(body json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var parts []string
	for _, k := range []string{"text", "markdown", "actionCard"} {
		var obj map[string]any
		if json.Unmarshal(m[k], &obj) != nil {
			continue
		}
		for _, f := range []string{"content", "title", "text"} {
			if v, ok := obj[f].(string); ok {
				parts = append(parts, v)
			}
		}
	}
	return strings.Join(parts, "\n")
}

// Text returns the reply's visible text (text content, or the title and
// text of a markdown or actionCard).
func (r SessionReply) Text() string { return textOf(r.Body) }
