package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// MessageService sends work notices (工作通知) and follows them up.
type MessageService service

var (
	epMsgSend     = oapiEP(http.MethodPost, "/topapi/message/corpconversation/asyncsend_v2", false)
	epMsgProgress = oapiEP(http.MethodPost, "/topapi/message/corpconversation/getsendprogress", true)
	epMsgResult   = oapiEP(http.MethodPost, "/topapi/message/corpconversation/getsendresult", true)
	epMsgRecall   = oapiEP(http.MethodPost, "/topapi/message/corpconversation/recall", false)
)

// Message is a work-notice message: MsgType plus the matching object.
// Build one with TextMessage, MarkdownMessage and friends, or by hand.
type Message struct {
	MsgType    string           `json:"msgtype"`
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
// several (BtnOrientation "0" vertical / "1" horizontal, BtnJSONList).
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
	return &Message{MsgType: "text", Text: &TextContent{Content: content}}
}

// MarkdownMessage returns a markdown work notice.
func MarkdownMessage(title, text string) *Message {
	return &Message{MsgType: "markdown", Markdown: &MarkdownContent{Title: title, Text: text}}
}

// LinkMessage returns a link work notice.
func LinkMessage(title, text, messageURL, picURL string) *Message {
	return &Message{MsgType: "link", Link: &LinkContent{MessageURL: messageURL, PicURL: picURL, Title: title, Text: text}}
}

// MaxMessageBytes is the largest encoded msg DingTalk accepts.
const MaxMessageBytes = 2048

// Validate checks that the message has a known type with its object, and
// the required fields DingTalk enforces.
func (m *Message) Validate() error {
	if m == nil {
		return errors.New("message is nil")
	}
	present := map[string]bool{
		"text": m.Text != nil, "image": m.Image != nil, "voice": m.Voice != nil, "file": m.File != nil,
		"link": m.Link != nil, "markdown": m.Markdown != nil, "action_card": m.ActionCard != nil, "oa": m.OA != nil,
	}
	has, known := present[m.MsgType]
	if !known {
		return fmt.Errorf("unknown msgtype %q", m.MsgType)
	}
	if !has {
		return fmt.Errorf("msgtype %q without its %s object", m.MsgType, m.MsgType)
	}
	for k, v := range present {
		if v && k != m.MsgType {
			return fmt.Errorf("msgtype %q also carries a %s object; send one type per message", m.MsgType, k)
		}
	}
	switch m.MsgType {
	case "text":
		if m.Text.Content == "" {
			return errors.New("text.content is empty")
		}
	case "image", "file":
		mc := m.Image
		if m.File != nil {
			mc = m.File
		}
		if mc.MediaID == "" {
			return fmt.Errorf("%s.media_id is empty", m.MsgType)
		}
	case "voice":
		if m.Voice.MediaID == "" || m.Voice.Duration == "" {
			return errors.New("voice needs media_id and duration")
		}
	case "link":
		l := m.Link
		if l.MessageURL == "" || l.PicURL == "" || l.Title == "" || l.Text == "" {
			return errors.New("link needs messageUrl, picUrl, title and text")
		}
	case "markdown":
		if m.Markdown.Title == "" || m.Markdown.Text == "" {
			return errors.New("markdown needs title and text")
		}
		if n := len([]rune(m.Markdown.Text)); n > 5000 {
			return fmt.Errorf("markdown text has %d characters, more than 5000", n)
		}
	case "action_card":
		a := m.ActionCard
		if a.Markdown == "" {
			return errors.New("action_card.markdown is empty")
		}
		single := a.SingleTitle != "" || a.SingleURL != ""
		if single == (len(a.BtnJSONList) > 0) {
			return errors.New("action_card needs either single_title+single_url or btn_json_list")
		}
		if single && (a.SingleTitle == "" || a.SingleURL == "") {
			return errors.New("action_card needs both single_title and single_url")
		}
	case "oa":
		if m.OA.MessageURL == "" {
			return errors.New("oa.message_url is empty")
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > MaxMessageBytes {
		return fmt.Errorf("message is %d bytes encoded, more than %d", len(b), MaxMessageBytes)
	}
	return nil
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

// Limits of one WorkNotice.
const (
	MaxNoticeUsers = 100
	MaxNoticeDepts = 20
)

// Validate checks the recipients and the message.
func (n *WorkNotice) Validate() error {
	switch {
	case n == nil:
		return errors.New("notice is nil")
	case n.AgentID == 0:
		return errors.New("agent_id is required")
	case !n.ToAllUser && len(n.UserIDList) == 0 && len(n.DeptIDList) == 0:
		return errors.New("no recipients: set userid_list, dept_id_list or to_all_user")
	case len(n.UserIDList) > MaxNoticeUsers:
		return fmt.Errorf("userid_list has %d users, more than %d", len(n.UserIDList), MaxNoticeUsers)
	case len(n.DeptIDList) > MaxNoticeDepts:
		return fmt.Errorf("dept_id_list has %d departments, more than %d", len(n.DeptIDList), MaxNoticeDepts)
	}
	if err := n.Msg.Validate(); err != nil {
		return fmt.Errorf("msg: %w", err)
	}
	return nil
}

// Send starts an asynchronous work-notice send and returns its task id.
// DingTalk reports success even for notices it drops (duplicates, daily
// caps): confirm delivery with SendResult. Send is never resent after a
// failure with an unknown outcome, so a notice is not delivered twice.
// Replaces TOP dingtalk.corp.message.corpconversation.asyncsend.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/asynchronous-sending-of-enterprise-session-messages
func (s *MessageService) Send(ctx context.Context, n *WorkNotice) (int64, error) {
	if err := n.Validate(); err != nil {
		return 0, fmt.Errorf("dingtalk: work notice: %w", err)
	}
	var out struct {
		TaskID int64 `json:"task_id"`
	}
	if err := s.client.oapi(ctx, epMsgSend, nil, n, &out); err != nil {
		return 0, err
	}
	return out.TaskID, nil
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
