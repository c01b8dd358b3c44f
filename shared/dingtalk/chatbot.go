package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ChatbotService is the app's own robot (企业内部应用机器人) on the new API:
// messages sent as the robot to people one to one or into a group
// conversation, their recall and read status, and replies through the
// session webhook of a message the robot received. Unlike a custom group
// robot (RobotService), it authenticates with the app's access token and
// names the robot by its robotCode.
type ChatbotService service

// Endpoints of the app robot. A send is never resent after a failure whose
// outcome is unknown (DingTalk has no idempotency key for it); a recall or
// a read-status query may be, since repeating it changes nothing.
var (
	epBotSendUsers   = apiEP(http.MethodPost, "/v1.0/robot/oToMessages/batchSend", false)
	epBotSendGroup   = apiEP(http.MethodPost, "/v1.0/robot/groupMessages/send", false)
	epBotRecallUsers = apiEP(http.MethodPost, "/v1.0/robot/otoMessages/batchRecall", true)
	epBotRecallGroup = apiEP(http.MethodPost, "/v1.0/robot/groupMessages/recall", true)
	epBotReadStatus  = apiEP(http.MethodGet, "/v1.0/robot/oToMessages/readStatus", true)
	epBotGroupRead   = apiEP(http.MethodPost, "/v1.0/robot/groupMessages/query", true)
	// epBotDownload trades a received message's downloadCode for a
	// temporary URL; asking twice changes nothing.
	epBotDownload = apiEP(http.MethodPost, "/v1.0/robot/messageFiles/download", true)
	// epBotSession is the session webhook of a received message; the
	// session in its query is the credential, no token is sent.
	epBotSession = oapiEP(http.MethodPost, "/robot/sendBySession", false).withAuth(authNone)
)

// Limits of the app robot's APIs.
const (
	// MaxChatbotUsers is how many userids one one-to-one send may name
	// (the API's table; its error text says 100).
	MaxChatbotUsers = 20
	// MaxChatbotParamBytes is the largest msgParam, as the JSON string
	// DingTalk receives.
	MaxChatbotParamBytes = 15000
	// MaxChatbotRecallKeys is how many messages one recall names.
	MaxChatbotRecallKeys = 20
	// ChatbotRecallWindow is how long after sending a message can be
	// recalled, or its read status read.
	ChatbotRecallWindow = 24 * time.Hour
	// MaxChatbotMessagesPerMinute is DingTalk's cap on one robot's
	// messages a minute (toomuch.msg).
	MaxChatbotMessagesPerMinute = 6000
	// MaxChatbotReadPage is the most readers one page of a group
	// message's read status lists (maxResults).
	MaxChatbotReadPage = 200
)

// Message templates (msgKey) of the app robot and the msgParam fields
// each needs.
const (
	BotText        = "sampleText"
	BotMarkdown    = "sampleMarkdown"
	BotImage       = "sampleImageMsg"
	BotLink        = "sampleLink"
	BotActionCard  = "sampleActionCard"
	BotActionCard2 = "sampleActionCard2"
	BotActionCard3 = "sampleActionCard3"
	BotActionCard4 = "sampleActionCard4"
	BotActionCard5 = "sampleActionCard5"
	BotActionCard6 = "sampleActionCard6"
	BotAudio       = "sampleAudio"
	BotFile        = "sampleFile"
	BotVideo       = "sampleVideo"
)

// botParams lists each msgKey's required msgParam fields.
var botParams = map[string][]string{
	BotText:        {"content"},
	BotMarkdown:    {"title", "text"},
	BotImage:       {"photoURL"},
	BotLink:        {"title", "text", "picUrl", "messageUrl"},
	BotActionCard:  {"title", "text", "singleTitle", "singleURL"},
	BotActionCard2: {"title", "text", "actionTitle1", "actionURL1", "actionTitle2", "actionURL2"},
	BotActionCard3: {"title", "text", "actionTitle1", "actionURL1", "actionTitle2", "actionURL2", "actionTitle3", "actionURL3"},
	BotActionCard4: {"title", "text", "actionTitle1", "actionURL1", "actionTitle2", "actionURL2", "actionTitle3", "actionURL3", "actionTitle4", "actionURL4"},
	BotActionCard5: {"title", "text", "actionTitle1", "actionURL1", "actionTitle2", "actionURL2", "actionTitle3", "actionURL3", "actionTitle4", "actionURL4", "actionTitle5", "actionURL5"},
	BotActionCard6: {"title", "text", "buttonTitle1", "buttonUrl1", "buttonTitle2", "buttonUrl2"},
	BotAudio:       {"mediaId", "duration"},
	BotFile:        {"mediaId", "fileName", "fileType"},
	BotVideo:       {"duration", "videoMediaId", "videoType", "picMediaId"},
}

// BotMsgKeys returns the message templates the app robot can send, sorted.
func BotMsgKeys() []string {
	out := make([]string, 0, len(botParams))
	for k := range botParams {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// BotMessage is a message the app robot sends: a template (MsgKey) and its
// fields (MsgParam). DingTalk takes msgParam as a JSON string; BotMessage
// holds it as an object, and reads either form.
type BotMessage struct {
	MsgKey   string            `json:"msgKey"`
	MsgParam map[string]string `json:"msgParam"`
}

// UnmarshalJSON reads msgParam as an object or as DingTalk's JSON string.
func (m *BotMessage) UnmarshalJSON(b []byte) error {
	var raw struct {
		MsgKey   string          `json:"msgKey"`
		MsgParam json.RawMessage `json:"msgParam"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	m.MsgKey, m.MsgParam = raw.MsgKey, nil
	p := bytes.TrimSpace(raw.MsgParam)
	if len(p) > 0 && p[0] == '"' {
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return err
		}
		p = []byte(s)
	}
	if len(p) == 0 || string(p) == "null" {
		return nil
	}
	if err := json.Unmarshal(p, &m.MsgParam); err != nil {
		return errors.New("msgParam must be an object of strings (or that object as a JSON string)")
	}
	return nil
}

// BotTextMessage returns a sampleText message.
func BotTextMessage(content string) *BotMessage {
	return &BotMessage{MsgKey: BotText, MsgParam: map[string]string{"content": content}}
}

// BotMarkdownMessage returns a sampleMarkdown message.
func BotMarkdownMessage(title, text string) *BotMessage {
	return &BotMessage{MsgKey: BotMarkdown, MsgParam: map[string]string{"title": title, "text": text}}
}

// BotActionCardMessage returns a sampleActionCard message with one button.
func BotActionCardMessage(title, text, buttonTitle, buttonURL string) *BotMessage {
	return &BotMessage{MsgKey: BotActionCard, MsgParam: map[string]string{
		"title": title, "text": text, "singleTitle": buttonTitle, "singleURL": buttonURL}}
}

// param returns msgParam as DingTalk receives it: a JSON string.
func (m *BotMessage) param() (string, error) {
	p := m.MsgParam
	if p == nil {
		p = map[string]string{}
	}
	b, err := json.Marshal(p)
	return string(b), err
}

// Validate checks the template, its required fields and msgParam's size
// (MaxChatbotParamBytes). It returns a *[ValidationError] naming the field
// as in DingTalk's JSON ("msgParam.content").
func (m *BotMessage) Validate() error {
	if m == nil || m.MsgKey == "" {
		return required("msgKey", "msgKey is required: "+strings.Join(BotMsgKeys(), ", "))
	}
	fields, ok := botParams[m.MsgKey]
	if !ok {
		e := oneOf("msgKey", m.MsgKey, BotMsgKeys()...)
		e.Detail = fmt.Sprintf("unknown robot message template %q; want one of %s", m.MsgKey, strings.Join(BotMsgKeys(), ", "))
		return e
	}
	for _, f := range fields {
		if m.MsgParam[f] == "" {
			return required("msgParam."+f, fmt.Sprintf("%s needs msgParam.%s", m.MsgKey, strings.Join(fields, ", msgParam.")))
		}
	}
	p, err := m.param()
	if err != nil {
		return fmt.Errorf("dingtalk: encode msgParam: %w", err)
	}
	// DingTalk measures the string it receives; JSON-escaping it once more
	// for the body does not count.
	if len(p) > MaxChatbotParamBytes {
		return &ValidationError{Field: "msgParam", Rule: RuleMaxBytes, Limit: MaxChatbotParamBytes, Actual: len(p),
			Detail: fmt.Sprintf("%d bytes as JSON, more than %d", len(p), MaxChatbotParamBytes)}
	}
	return nil
}

// ChatbotSendResult is DingTalk's answer to a one-to-one send.
type ChatbotSendResult struct {
	// ProcessQueryKey names the send for recall and read status.
	ProcessQueryKey string `json:"processQueryKey"`
	// InvalidStaffIDs are userids DingTalk does not know;
	// FlowControlledStaffIDs those its flow control held back.
	InvalidStaffIDs        []string `json:"invalidStaffIdList"`
	FlowControlledStaffIDs []string `json:"flowControlledStaffIdList"`
}

type botSendUsers struct {
	RobotCode string   `json:"robotCode"`
	UserIDs   []string `json:"userIds"`
	MsgKey    string   `json:"msgKey"`
	MsgParam  string   `json:"msgParam"`
}

// checkRobotCode refuses an empty robot code before any call.
func checkRobotCode(code string) error {
	if strings.TrimSpace(code) == "" {
		return required("robotCode", "robotCode is required (the app robot's code; DINGTALK_ROBOT_CODE)")
	}
	return nil
}

// SendToUsers sends msg as the robot robotCode to each of userIDs in a one
// to one chat (at most MaxChatbotUsers). The answer lists the userids
// DingTalk did not know or held back. A send whose outcome is unknown is
// not repeated. @-mentions are not supported.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/chatbots-send-one-on-one-chat-messages-in-batches
func (s *ChatbotService) SendToUsers(ctx context.Context, robotCode string, userIDs []string, msg *BotMessage) (*ChatbotSendResult, error) {
	if err := checkRobotCode(robotCode); err != nil {
		return nil, fmt.Errorf("dingtalk: robot message: %w", err)
	}
	switch {
	case len(userIDs) == 0:
		return nil, fmt.Errorf("dingtalk: robot message: %w", required("userIds", "no userids to send to"))
	case len(userIDs) > MaxChatbotUsers:
		return nil, fmt.Errorf("dingtalk: robot message: %w", maxCount("userIds", len(userIDs), MaxChatbotUsers, "userids"))
	}
	if err := msg.Validate(); err != nil {
		return nil, fmt.Errorf("dingtalk: robot message: %w", err)
	}
	p, _ := msg.param()
	var out ChatbotSendResult
	body := botSendUsers{RobotCode: robotCode, UserIDs: userIDs, MsgKey: msg.MsgKey, MsgParam: p}
	if err := s.client.api(ctx, epBotSendUsers, nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GroupOption configures SendToGroup.
type GroupOption func(*botSendGroup) error

// WithCoolAppCode names the group cool app (酷应用) the robot was
// installed through; DingTalk requires it for robots installed that way.
func WithCoolAppCode(code string) GroupOption {
	return func(b *botSendGroup) error {
		if code == "" {
			return errors.New("WithCoolAppCode: empty code")
		}
		b.CoolAppCode = code
		return nil
	}
}

type botSendGroup struct {
	RobotCode          string `json:"robotCode"`
	OpenConversationID string `json:"openConversationId"`
	MsgKey             string `json:"msgKey"`
	MsgParam           string `json:"msgParam"`
	CoolAppCode        string `json:"coolAppCode,omitempty"`
}

// SendToGroup sends msg as the robot robotCode into the group conversation
// openConversationID (cid…), which the robot must be a member of. It
// returns the send's processQueryKey. A send whose outcome is unknown is
// not repeated.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/the-robot-sends-a-group-message
func (s *ChatbotService) SendToGroup(ctx context.Context, robotCode, openConversationID string, msg *BotMessage, opts ...GroupOption) (string, error) {
	if err := checkRobotCode(robotCode); err != nil {
		return "", fmt.Errorf("dingtalk: robot message: %w", err)
	}
	if openConversationID == "" {
		return "", fmt.Errorf("dingtalk: robot message: %w", required("openConversationId", "no group conversation to send to"))
	}
	if err := msg.Validate(); err != nil {
		return "", fmt.Errorf("dingtalk: robot message: %w", err)
	}
	p, _ := msg.param()
	body := botSendGroup{RobotCode: robotCode, OpenConversationID: openConversationID, MsgKey: msg.MsgKey, MsgParam: p}
	for _, o := range opts {
		if err := o(&body); err != nil {
			return "", fmt.Errorf("dingtalk: robot message: %w", err)
		}
	}
	var out struct {
		ProcessQueryKey string `json:"processQueryKey"`
	}
	if err := s.client.api(ctx, epBotSendGroup, nil, body, &out); err != nil {
		return "", err
	}
	return out.ProcessQueryKey, nil
}

// ChatbotRecallResult is DingTalk's answer to a recall: the keys recalled,
// and DingTalk's reason for each it did not recall.
type ChatbotRecallResult struct {
	Succeeded []string          `json:"successResult"`
	Failed    map[string]string `json:"failedResult"`
}

func checkRecallKeys(keys []string) error {
	switch {
	case len(keys) == 0:
		return required("processQueryKeys", "no messages to recall")
	case len(keys) > MaxChatbotRecallKeys:
		return maxCount("processQueryKeys", len(keys), MaxChatbotRecallKeys, "messages")
	}
	return nil
}

// RecallUsers recalls one-to-one sends by their processQueryKeys (at most
// MaxChatbotRecallKeys), within ChatbotRecallWindow of sending.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/batch-message-recall-chat
func (s *ChatbotService) RecallUsers(ctx context.Context, robotCode string, keys []string) (*ChatbotRecallResult, error) {
	if err := errors.Join(checkRobotCode(robotCode), checkRecallKeys(keys)); err != nil {
		return nil, fmt.Errorf("dingtalk: robot recall: %w", firstValidation(err))
	}
	var out ChatbotRecallResult
	body := map[string]any{"robotCode": robotCode, "processQueryKeys": keys}
	if err := s.client.api(ctx, epBotRecallUsers, nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RecallGroup recalls group sends by their processQueryKeys (at most
// MaxChatbotRecallKeys), within ChatbotRecallWindow of sending. The group
// shows no recall notice.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/enterprise-chatbot-withdraws-internal-group-messages
func (s *ChatbotService) RecallGroup(ctx context.Context, robotCode, openConversationID string, keys []string) (*ChatbotRecallResult, error) {
	if err := errors.Join(checkRobotCode(robotCode), checkRecallKeys(keys)); err != nil {
		return nil, fmt.Errorf("dingtalk: robot recall: %w", firstValidation(err))
	}
	if openConversationID == "" {
		return nil, fmt.Errorf("dingtalk: robot recall: %w", required("openConversationId", "no group conversation"))
	}
	var out ChatbotRecallResult
	body := map[string]any{"robotCode": robotCode, "openConversationId": openConversationID, "processQueryKeys": keys}
	if err := s.client.api(ctx, epBotRecallGroup, nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// firstValidation returns the first *ValidationError of a joined error.
func firstValidation(err error) error {
	if ve, ok := errors.AsType[*ValidationError](err); ok {
		return ve
	}
	return err
}

// Read states of a one-to-one robot message.
const (
	BotSendSuccess    = "SUCCESS"
	BotSendRecalled   = "RECALLED"
	BotSendProcessing = "PROCESSING"
	BotRead           = "READ"
	BotUnread         = "UNREAD"
)

// ChatbotReadStatus is the state of a one-to-one send and who read it.
type ChatbotReadStatus struct {
	// SendStatus is BotSendSuccess, BotSendRecalled or BotSendProcessing.
	SendStatus string          `json:"sendStatus"`
	Readers    []ChatbotReadBy `json:"messageReadInfoList"`
}

// ChatbotReadBy is one recipient's read state, BotRead or BotUnread.
type ChatbotReadBy struct {
	Name       string `json:"name"`
	UserID     string `json:"userId"`
	ReadStatus string `json:"readStatus"`
}

// ReadStatus returns a one-to-one send's state and who has read it, within
// ChatbotRecallWindow of sending.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/chatbot-batch-query-the-read-status-of-messages
func (s *ChatbotService) ReadStatus(ctx context.Context, robotCode, processQueryKey string) (*ChatbotReadStatus, error) {
	if err := checkRobotCode(robotCode); err != nil {
		return nil, fmt.Errorf("dingtalk: robot read status: %w", err)
	}
	if processQueryKey == "" {
		return nil, fmt.Errorf("dingtalk: robot read status: %w", required("processQueryKey", ""))
	}
	var out ChatbotReadStatus
	q := url.Values{"robotCode": {robotCode}, "processQueryKey": {processQueryKey}}
	if err := s.client.api(ctx, epBotReadStatus, q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CodeProcessQueryKeyExpired is DingTalk's answer (HTTP 400) to a read
// status or recall of a send whose processQueryKey has expired, or, for a
// group send, whose read data DingTalk has not built yet.
const CodeProcessQueryKeyExpired = "processQueryKey.expireTime"

// ChatbotGroupReadStatus is the state of a group send and who read it.
// DingTalk names only the readers: who has not read it is the group's
// members less these, which this API does not tell.
type ChatbotGroupReadStatus struct {
	// SendStatus is BotSendSuccess, BotSendRecalled or BotSendProcessing.
	SendStatus  string
	ReadUserIDs []string
	// Calls is how many calls (pages of MaxChatbotReadPage readers) it
	// took.
	Calls int
}

type botGroupRead struct {
	OpenConversationID string `json:"openConversationId"`
	RobotCode          string `json:"robotCode"`
	ProcessQueryKey    string `json:"processQueryKey"`
	MaxResults         int    `json:"maxResults"`
	NextToken          string `json:"nextToken,omitempty"`
}

type botGroupReadPage struct {
	SendStatus  string   `json:"sendStatus"`
	ReadUserIDs []string `json:"readUserIds"`
	NextToken   string   `json:"nextToken"`
	HasMore     bool     `json:"hasMore"`
}

// GroupReadStatus returns a group send's state and every userid that has
// read it, reading the pages of MaxChatbotReadPage readers DingTalk
// answers in. openConversationID and robotCode must be the send's. The
// docs state no rate limit and no time window for it (only the
// processQueryKey.expireTime answer); the send's ChatbotRecallWindow is a
// safe assumption.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/chatbot-queries-the-read-status-of-a-message
func (s *ChatbotService) GroupReadStatus(ctx context.Context, robotCode, openConversationID, processQueryKey string) (*ChatbotGroupReadStatus, error) {
	if err := checkRobotCode(robotCode); err != nil {
		return nil, fmt.Errorf("dingtalk: robot group read status: %w", err)
	}
	switch {
	case openConversationID == "":
		return nil, fmt.Errorf("dingtalk: robot group read status: %w", required("openConversationId", "the group the message was sent to"))
	case processQueryKey == "":
		return nil, fmt.Errorf("dingtalk: robot group read status: %w", required("processQueryKey", ""))
	}
	out := &ChatbotGroupReadStatus{ReadUserIDs: []string{}}
	seen := map[string]bool{}
	body := botGroupRead{OpenConversationID: openConversationID, RobotCode: robotCode, ProcessQueryKey: processQueryKey, MaxResults: MaxChatbotReadPage}
	for {
		var page botGroupReadPage
		if err := s.client.api(ctx, epBotGroupRead, nil, body, &page); err != nil {
			return nil, err
		}
		out.Calls++
		out.SendStatus = page.SendStatus
		for _, id := range page.ReadUserIDs {
			if !seen[id] {
				seen[id] = true
				out.ReadUserIDs = append(out.ReadUserIDs, id)
			}
		}
		// A cursor that does not move would loop for ever: stop there.
		if !page.HasMore || page.NextToken == "" || page.NextToken == body.NextToken {
			return out, nil
		}
		body.NextToken = page.NextToken
	}
}

// defaultOAPIHost is DingTalk's old-API host, where session webhooks
// point.
const defaultOAPIHost = "oapi.dingtalk.com"

// ErrBadSessionWebhook is returned by Reply for a session webhook that is
// not DingTalk's robot/sendBySession URL with a session.
var ErrBadSessionWebhook = errors.New("dingtalk: not a DingTalk session webhook (https://oapi.dingtalk.com/robot/sendBySession?session=…)")

// SessionOf returns the session of a received message's sessionWebhook:
// the URL must be robot/sendBySession with a session, on DingTalk's host
// or on the client's old-API base.
func (s *ChatbotService) SessionOf(webhook string) (string, error) {
	u, err := url.Parse(webhook)
	if err != nil || u.Host == "" {
		return "", ErrBadSessionWebhook
	}
	base := s.client.oapiBase
	onHost := (u.Scheme == "https" && strings.EqualFold(u.Host, defaultOAPIHost)) ||
		(u.Scheme == base.Scheme && strings.EqualFold(u.Host, base.Host))
	onPath := u.Path == epBotSession.path || u.Path == strings.TrimRight(base.Path, "/")+epBotSession.path
	session := u.Query().Get("session")
	if !onHost || !onPath || session == "" {
		return "", ErrBadSessionWebhook
	}
	return session, nil
}

// Reply posts msg (text, markdown, actionCard, feedCard or link, with
// @-mentions written into the text) to the session webhook of a message
// the robot received, until its sessionWebhookExpiredTime. The webhook's
// session is the credential: the call always goes to the client's old-API
// base, never to another host the URL may name, and the session is
// redacted from errors and logs. A reply whose outcome is unknown is not
// repeated.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/robot-reply-and-send-messages
func (s *ChatbotService) Reply(ctx context.Context, webhook string, msg *RobotMessage) error {
	session, err := s.SessionOf(webhook)
	if err != nil {
		return err
	}
	if err := msg.Validate(); err != nil {
		return fmt.Errorf("dingtalk: robot reply: %w", err)
	}
	return s.client.do(ctx, &request{ep: epBotSession, query: url.Values{"session": {session}}, body: msg}, nil)
}
