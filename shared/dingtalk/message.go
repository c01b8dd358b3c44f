package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// MessageService sends work notices (工作通知) and follows them up.
type MessageService service

var (
	epMsgSend     = oapiEP(http.MethodPost, "/topapi/message/corpconversation/asyncsend_v2", false)
	epMsgProgress = oapiEP(http.MethodPost, "/topapi/message/corpconversation/getsendprogress", true)
	epMsgResult   = oapiEP(http.MethodPost, "/topapi/message/corpconversation/getsendresult", true)
	epMsgRecall   = oapiEP(http.MethodPost, "/topapi/message/corpconversation/recall", false)
)

// MsgType is the msgtype of a work notice or a group-robot message. The two
// share text, link and markdown; the card types are spelt differently
// (action_card for notices, actionCard for robots).
type MsgType string

// Work-notice (工作通知) message types.
const (
	MsgTypeText       MsgType = "text"
	MsgTypeImage      MsgType = "image"
	MsgTypeVoice      MsgType = "voice"
	MsgTypeFile       MsgType = "file"
	MsgTypeLink       MsgType = "link"
	MsgTypeOA         MsgType = "oa"
	MsgTypeMarkdown   MsgType = "markdown"
	MsgTypeActionCard MsgType = "action_card"
)

// Custom group-robot (自定义机器人) message types besides MsgTypeText,
// MsgTypeLink and MsgTypeMarkdown.
const (
	MsgTypeRobotActionCard MsgType = "actionCard"
	MsgTypeFeedCard        MsgType = "feedCard"
)

// NoticeMsgTypes returns the msgtypes a work notice may have.
func NoticeMsgTypes() []MsgType {
	return []MsgType{MsgTypeText, MsgTypeImage, MsgTypeVoice, MsgTypeFile, MsgTypeLink, MsgTypeOA, MsgTypeMarkdown, MsgTypeActionCard}
}

// RobotMsgTypes returns the msgtypes a custom group robot may send.
func RobotMsgTypes() []MsgType {
	return []MsgType{MsgTypeText, MsgTypeLink, MsgTypeMarkdown, MsgTypeRobotActionCard, MsgTypeFeedCard}
}

// Message is a work-notice message: MsgType plus the matching object.
// Build one with TextMessage, MarkdownMessage and friends, or by hand.
type Message struct {
	MsgType    MsgType          `json:"msgtype"`
	Text       *TextContent     `json:"text,omitempty"`
	Image      *MediaContent    `json:"image,omitempty"`
	Voice      *VoiceContent    `json:"voice,omitempty"`
	File       *MediaContent    `json:"file,omitempty"`
	Link       *LinkContent     `json:"link,omitempty"`
	Markdown   *MarkdownContent `json:"markdown,omitempty"`
	ActionCard *ActionCard      `json:"action_card,omitempty"`
	OA         *OAContent       `json:"oa,omitempty"`
}

// TextContent is a text message body.
type TextContent struct {
	Content string `json:"content"`
}

// MediaContent refers to uploaded media (image or file ≤ 10 MB).
type MediaContent struct {
	MediaID string `json:"media_id"`
}

// VoiceContent refers to an uploaded voice clip; Duration is in seconds
// (< 60), as a string.
type VoiceContent struct {
	MediaID  string `json:"media_id"`
	Duration string `json:"duration"`
}

// LinkContent is a link card; all fields are required.
type LinkContent struct {
	MessageURL string `json:"messageUrl"`
	PicURL     string `json:"picUrl"`
	Title      string `json:"title"`
	Text       string `json:"text"`
}

// MarkdownContent is a markdown message (text ≤ 5000 characters).
type MarkdownContent struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// ActionCard is a card with either one button (SingleTitle, SingleURL) or
// several (BtnJSONList, which needs BtnOrientation: "0" vertical, "1"
// horizontal).
type ActionCard struct {
	Title          string             `json:"title,omitempty"`
	Markdown       string             `json:"markdown"`
	SingleTitle    string             `json:"single_title,omitempty"`
	SingleURL      string             `json:"single_url,omitempty"`
	BtnOrientation string             `json:"btn_orientation,omitempty"`
	BtnJSONList    []ActionCardButton `json:"btn_json_list,omitempty"`
}

// ActionCardButton is one button of an ActionCard.
type ActionCardButton struct {
	Title     string `json:"title"`
	ActionURL string `json:"action_url"`
}

// OAContent is an OA message. DingTalk replaces Head.Text with the app
// name; StatusBar works only for a userid list of at most 5 users.
type OAContent struct {
	MessageURL   string       `json:"message_url"`
	PCMessageURL string       `json:"pc_message_url,omitempty"`
	Head         OAHead       `json:"head"`
	StatusBar    *OAStatusBar `json:"status_bar,omitempty"`
	Body         OABody       `json:"body"`
}

// OAHead is the OA message header; BgColor is 8-hex-digit ARGB.
type OAHead struct {
	BgColor string `json:"bgcolor,omitempty"`
	Text    string `json:"text,omitempty"`
}

// OAStatusBar is the OA message status bar.
type OAStatusBar struct {
	StatusValue string `json:"status_value,omitempty"`
	StatusBg    string `json:"status_bg,omitempty"`
}

// OABody is the OA message body.
type OABody struct {
	Title     string       `json:"title,omitempty"`
	Form      []OAFormItem `json:"form,omitempty"`
	Rich      *OARich      `json:"rich,omitempty"`
	Content   string       `json:"content,omitempty"`
	Image     string       `json:"image,omitempty"`
	FileCount string       `json:"file_count,omitempty"`
	Author    string       `json:"author,omitempty"`
}

// OAFormItem is one key/value line of an OA body.
type OAFormItem struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// OARich is the highlighted number of an OA body.
type OARich struct {
	Num  string `json:"num"`
	Unit string `json:"unit,omitempty"`
}

// TextMessage returns a text work notice.
func TextMessage(content string) *Message {
	return &Message{MsgType: MsgTypeText, Text: &TextContent{Content: content}}
}

// MarkdownMessage returns a markdown work notice.
func MarkdownMessage(title, text string) *Message {
	return &Message{MsgType: MsgTypeMarkdown, Markdown: &MarkdownContent{Title: title, Text: text}}
}

// LinkMessage returns a link work notice.
func LinkMessage(title, text, messageURL, picURL string) *Message {
	return &Message{MsgType: MsgTypeLink, Link: &LinkContent{MessageURL: messageURL, PicURL: picURL, Title: title, Text: text}}
}

// Limits of one work-notice message, from DingTalk's message format page.
const (
	// MaxMessageBytes is the largest encoded msg DingTalk accepts.
	MaxMessageBytes = 2048
	// MaxMarkdownChars bounds markdown.text (MaxMessageBytes is usually
	// reached first).
	MaxMarkdownChars = 5000
	// MaxVoiceSeconds bounds voice.duration: a whole number of seconds
	// below 60.
	MaxVoiceSeconds = 59
	// MaxCardTitleChars bounds action_card.single_title and each button
	// title.
	MaxCardTitleChars = 20
	// MaxCardSingleURLChars bounds action_card.single_url.
	MaxCardSingleURLChars = 500
	// MaxCardButtonURLChars bounds each button's action_url.
	MaxCardButtonURLChars = 700
	// MaxCardButtonListChars bounds action_card.btn_json_list as encoded.
	MaxCardButtonListChars = 1000
	// MaxOAFormItems is how many oa.body.form lines DingTalk shows; it
	// hides the rest, so Validate refuses more rather than lose them.
	MaxOAFormItems = 6
)

// Validate checks the message against DingTalk's rules for its type:
// a known msgtype with its object and no other, the required fields,
// lengths, counts and allowed values, and the encoded size. It returns a
// *[ValidationError] naming the field as in a work notice's JSON, e.g.
// "msg.link.messageUrl".
func (m *Message) Validate() error {
	_, err := m.validate()
	return err
}

// validate checks the message and returns its encoding, so that Send does
// not encode it twice.
func (m *Message) validate() ([]byte, error) {
	if m == nil {
		return nil, required("msg", "message is nil")
	}
	present := [...]msgObject{
		{MsgTypeText, m.Text != nil}, {MsgTypeImage, m.Image != nil}, {MsgTypeVoice, m.Voice != nil},
		{MsgTypeFile, m.File != nil}, {MsgTypeLink, m.Link != nil}, {MsgTypeOA, m.OA != nil},
		{MsgTypeMarkdown, m.Markdown != nil}, {MsgTypeActionCard, m.ActionCard != nil},
	}
	if err := checkObjects(m.MsgType, present[:], "unknown msgtype"); err != nil {
		return nil, inMsg(err)
	}
	if err := m.checkFields(); err != nil {
		return nil, inMsg(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	if len(b) > MaxMessageBytes {
		return nil, &ValidationError{Field: "msg", Rule: RuleMaxBytes, Limit: MaxMessageBytes, Actual: len(b),
			Detail: fmt.Sprintf("message is %d bytes encoded, more than %d", len(b), MaxMessageBytes)}
	}
	return b, nil
}

// inMsg nests a message's field under "msg", where it sits in a work
// notice.
func inMsg(err error) error {
	if ve, ok := errors.AsType[*ValidationError](err); ok {
		return ve.within("msg")
	}
	return err
}

// msgObject says whether a message carries the object of type t.
type msgObject struct {
	t  MsgType
	ok bool
}

// checkObjects checks that t is one of the types in present, that its
// object is there and that no other one is.
func checkObjects(t MsgType, present []msgObject, unknown string) error {
	allowed := make([]string, len(present))
	has, known := false, false
	for i, p := range present {
		allowed[i] = string(p.t)
		if p.t == t {
			has, known = p.ok, true
		}
	}
	if !known {
		e := oneOf("msgtype", string(t), allowed...)
		e.Detail = fmt.Sprintf("%s %q; want one of %s", unknown, t, strings.Join(allowed, ", "))
		return e
	}
	if !has {
		return required(string(t), fmt.Sprintf("msgtype %q without its %s object", t, t))
	}
	for _, p := range present {
		if p.ok && p.t != t {
			return exclusive(string(p.t), fmt.Sprintf("msgtype %q also carries a %s object; send one type per message", t, p.t), string(t))
		}
	}
	return nil
}

// checkFields checks the fields of the message's own object.
func (m *Message) checkFields() error {
	switch m.MsgType {
	case MsgTypeText:
		return firstErr(nonEmpty("", "text.content", m.Text.Content))
	case MsgTypeImage:
		return firstErr(nonEmpty("", "image.media_id", m.Image.MediaID))
	case MsgTypeFile:
		return firstErr(nonEmpty("", "file.media_id", m.File.MediaID))
	case MsgTypeVoice:
		v := m.Voice
		if err := nonEmpty("voice needs media_id and duration", "voice.media_id", v.MediaID, "voice.duration", v.Duration); err != nil {
			return err
		}
		if n, err := strconv.Atoi(v.Duration); err != nil || n < 1 || n > MaxVoiceSeconds {
			return &ValidationError{Field: "voice.duration", Rule: RuleFormat, Format: "whole seconds 1-59",
				Detail: fmt.Sprintf("%q is not a whole number of seconds from 1 to %d", v.Duration, MaxVoiceSeconds)}
		}
	case MsgTypeLink:
		l := m.Link
		return firstErr(nonEmpty("link needs messageUrl, picUrl, title and text",
			"link.messageUrl", l.MessageURL, "link.picUrl", l.PicURL, "link.title", l.Title, "link.text", l.Text))
	case MsgTypeMarkdown:
		md := m.Markdown
		return firstErr(nonEmpty("markdown needs title and text", "markdown.title", md.Title, "markdown.text", md.Text),
			maxLength("markdown.text", md.Text, MaxMarkdownChars))
	case MsgTypeActionCard:
		return m.ActionCard.check()
	case MsgTypeOA:
		return m.OA.check()
	}
	return nil
}

// check applies the action_card rules: markdown, and either one button
// (single_title + single_url) or a list of them (btn_orientation +
// btn_json_list), never both.
func (a *ActionCard) check() error {
	if a.Markdown == "" {
		return required("action_card.markdown", "")
	}
	const either = "action_card needs either single_title+single_url or btn_orientation+btn_json_list"
	single := a.SingleTitle != "" || a.SingleURL != ""
	list := len(a.BtnJSONList) > 0
	switch {
	case single && list:
		return exclusive("action_card.btn_json_list", either+", not both", "action_card.single_title")
	case !single && !list:
		return required("action_card.single_title", either, "action_card.btn_json_list")
	case single:
		return firstErr(
			nonEmpty("action_card needs both single_title and single_url",
				"action_card.single_title", a.SingleTitle, "action_card.single_url", a.SingleURL),
			maxLength("action_card.single_title", a.SingleTitle, MaxCardTitleChars),
			maxLength("action_card.single_url", a.SingleURL, MaxCardSingleURLChars))
	}
	switch a.BtnOrientation {
	case "0", "1":
	case "":
		return required("action_card.btn_orientation", "btn_json_list needs btn_orientation (\"0\" vertical, \"1\" horizontal)")
	default:
		return oneOf("action_card.btn_orientation", a.BtnOrientation, "0", "1")
	}
	for i, b := range a.BtnJSONList {
		f := fmt.Sprintf("action_card.btn_json_list[%d].", i)
		if err := firstErr(
			nonEmpty("a button needs title and action_url", f+"title", b.Title, f+"action_url", b.ActionURL),
			maxLength(f+"title", b.Title, MaxCardTitleChars),
			maxLength(f+"action_url", b.ActionURL, MaxCardButtonURLChars)); err != nil {
			return err
		}
	}
	list2, err := json.Marshal(a.BtnJSONList)
	if err != nil {
		return fmt.Errorf("encode btn_json_list: %w", err)
	}
	return firstErr(maxLength("action_card.btn_json_list", string(list2), MaxCardButtonListChars))
}

// check applies the oa rules of DingTalk's field table: message_url,
// head.bgcolor (8 hex digits, ARGB, no "0x") and head.text are required;
// body.form shows at most 6 lines.
func (o *OAContent) check() error {
	if err := nonEmpty("", "oa.message_url", o.MessageURL, "oa.head.bgcolor", o.Head.BgColor, "oa.head.text", o.Head.Text); err != nil {
		return err
	}
	if !isHex(o.Head.BgColor, 8) {
		return &ValidationError{Field: "oa.head.bgcolor", Rule: RuleFormat, Format: "8 hex digits (ARGB), no 0x",
			Detail: fmt.Sprintf("%q is not 8 hex digits (ARGB, without 0x)", o.Head.BgColor)}
	}
	return firstErr(maxCount("oa.body.form", len(o.Body.Form), MaxOAFormItems, "form lines (DingTalk hides the rest)"))
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// WorkNotice is one asynchronous work-notice send. Give UserIDList (≤ 100),
// DeptIDList (≤ 20, sub-departments included) or ToAllUser.
type WorkNotice struct {
	AgentID    int64        `json:"agent_id"`
	UserIDList CommaStrings `json:"userid_list,omitempty"`
	DeptIDList CommaInts    `json:"dept_id_list,omitempty"`
	ToAllUser  bool         `json:"to_all_user,omitempty"`
	Msg        *Message     `json:"msg"`
}

// Recipient limits of work notices. A notice with more userids or
// department ids than MaxNoticeUsers / MaxNoticeDepts is refused; the
// others are silent: DingTalk answers success and drops the excess, which
// shows only in SendResult. Split large sends into batches within all of
// them.
const (
	// MaxNoticeUsers is how many userids one send may name.
	MaxNoticeUsers = 100
	// MaxNoticeDepts is how many department ids one send may name.
	MaxNoticeDepts = 20
	// MaxNoticeRecipients is how many people one send reaches at most,
	// departments expanded; the rest are dropped silently.
	MaxNoticeRecipients = 5000
	// MaxNoticeRecipientsPerMinute is how many people an app's notices
	// reach in a minute; the rest are dropped silently.
	MaxNoticeRecipientsPerMinute = 5000
	// MaxNoticesPerUserPerDay is how many notices one person receives from
	// an internal app in a day; the same content reaches a person once a
	// day.
	MaxNoticesPerUserPerDay = 500
)

// Validate checks the recipients and the message.
func (n *WorkNotice) Validate() error {
	_, err := n.validate()
	return err
}

// validate checks the notice and returns the encoded message.
func (n *WorkNotice) validate() ([]byte, error) {
	switch {
	case n == nil:
		return nil, required("msg", "notice is nil")
	case n.AgentID == 0:
		return nil, required("agent_id", "")
	case !n.ToAllUser && len(n.UserIDList) == 0 && len(n.DeptIDList) == 0:
		return nil, required("userid_list", "no recipients: set userid_list, dept_id_list or to_all_user", "dept_id_list", "to_all_user")
	case n.Msg == nil:
		return nil, required("msg", "msg is nil")
	}
	if err := firstErr(maxCount("userid_list", len(n.UserIDList), MaxNoticeUsers, "users"),
		maxCount("dept_id_list", len(n.DeptIDList), MaxNoticeDepts, "departments")); err != nil {
		return nil, err
	}
	return n.Msg.validate()
}

// Send starts an asynchronous work-notice send and returns its task id.
// DingTalk reports success even for notices it drops (duplicates, daily
// caps): confirm delivery with SendResult. Send is never resent after a
// failure with an unknown outcome, so a notice is not delivered twice.
// Replaces TOP dingtalk.corp.message.corpconversation.asyncsend.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/asynchronous-sending-of-enterprise-session-messages
func (s *MessageService) Send(ctx context.Context, n *WorkNotice) (int64, error) {
	msg, err := n.validate()
	if err != nil {
		return 0, fmt.Errorf("dingtalk: work notice: %w", err)
	}
	body, err := n.encode(msg)
	if err != nil {
		return 0, fmt.Errorf("dingtalk: work notice: %w", err)
	}
	var out struct {
		TaskID int64 `json:"task_id"`
	}
	if err := s.client.do(ctx, &request{ep: epMsgSend, payload: body}, &out); err != nil {
		return 0, err
	}
	return out.TaskID, nil
}

// encode returns the notice's wire form around msg, the message as
// validation encoded it (measuring it took that encoding; re-encoding it,
// even as a json.RawMessage, which is re-scanned, would cost as much
// again).
func (n *WorkNotice) encode(msg []byte) ([]byte, error) {
	head, err := json.Marshal(struct {
		AgentID    int64        `json:"agent_id"`
		UserIDList CommaStrings `json:"userid_list,omitempty"`
		DeptIDList CommaInts    `json:"dept_id_list,omitempty"`
		ToAllUser  bool         `json:"to_all_user,omitempty"`
	}{n.AgentID, n.UserIDList, n.DeptIDList, n.ToAllUser})
	if err != nil {
		return nil, err
	}
	// head is an object with at least agent_id: msg goes in before its
	// closing brace.
	body := make([]byte, 0, len(head)+len(`,"msg":`)+len(msg))
	body = append(body, head[:len(head)-1]...)
	body = append(body, `,"msg":`...)
	body = append(body, msg...)
	return append(body, '}'), nil
}

// SendProgress is the progress of an asynchronous send.
type SendProgress struct {
	ProgressInPercent int `json:"progress_in_percent"`
	// Status is 0 pending, 1 running, 2 done.
	Status int `json:"status"`
}

type taskRequest struct {
	AgentID int64 `json:"agent_id"`
	TaskID  int64 `json:"task_id"`
}

// SendProgress returns the progress of a send task.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtain-the-sending-progress-of-asynchronous-sending-of-enterprise-session
func (s *MessageService) SendProgress(ctx context.Context, agentID, taskID int64) (*SendProgress, error) {
	var out struct {
		Progress SendProgress `json:"progress"`
	}
	if err := s.client.oapi(ctx, epMsgProgress, nil, taskRequest{agentID, taskID}, &out); err != nil {
		return nil, err
	}
	return &out.Progress, nil
}

// SendResult is the outcome of a send task per recipient.
type SendResult struct {
	InvalidUserIDList   []string        `json:"invalid_user_id_list"`
	ForbiddenUserIDList []string        `json:"forbidden_user_id_list"` // dropped by flow control
	FailedUserIDList    []string        `json:"failed_user_id_list"`
	ReadUserIDList      []string        `json:"read_user_id_list"`
	UnreadUserIDList    []string        `json:"unread_user_id_list"`
	InvalidDeptIDList   []int64         `json:"invalid_dept_id_list"`
	ForbiddenList       []ForbiddenItem `json:"forbidden_list"`
}

// ForbiddenItem says why a recipient was dropped: 143103 app QPM cap,
// 143104 corp QPM cap, 143105 per-user daily cap, 143106 duplicate content…
type ForbiddenItem struct {
	Code   string `json:"code"`
	Count  int    `json:"count"`
	UserID string `json:"userid"`
}

// SendResult returns the per-recipient outcome of a send task from the
// last 24 h. DingTalk times out for tasks with more than 100 recipients.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/gets-the-result-of-sending-messages-asynchronously-to-the-enterprise
func (s *MessageService) SendResult(ctx context.Context, agentID, taskID int64) (*SendResult, error) {
	var out struct {
		SendResult SendResult `json:"send_result"`
	}
	if err := s.client.oapi(ctx, epMsgResult, nil, taskRequest{agentID, taskID}, &out); err != nil {
		return nil, err
	}
	return &out.SendResult, nil
}

// Recall withdraws a work notice sent within the last 24 h.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/notification-of-work-withdrawal
func (s *MessageService) Recall(ctx context.Context, agentID, taskID int64) error {
	in := struct {
		AgentID   int64 `json:"agent_id"`
		MsgTaskID int64 `json:"msg_task_id"`
	}{agentID, taskID}
	return s.client.oapi(ctx, epMsgRecall, nil, in, nil)
}
