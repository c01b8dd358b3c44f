package chatbot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Message types (msgtype) DingTalk sends a robot. Any other type is kept
// as it came: MsgType and Content hold it.
const (
	TypeText     = "text"
	TypeRichText = "richText"
	TypePicture  = "picture"
	TypeAudio    = "audio"
	TypeVideo    = "video"
	TypeFile     = "file"
)

// Conversation types (conversationType).
const (
	OneToOne = "1"
	Group    = "2"
)

// Message is a message DingTalk posts to the robot's message URL: someone
// @-mentioned the robot in a group, or wrote to it one to one. The fields
// mirror DingTalk's JSON (which types most of them as strings); the typed
// content of the known msgtypes is in Text, RichText, Picture, Audio,
// Video and File, set by ParseMessage.
type Message struct {
	// MsgID is DingTalk's message id (msgId), the key of redelivery
	// dedupe; EventID derives the log id from it.
	MsgID   string `json:"msgId"`
	MsgType string `json:"msgtype"`
	// ConversationID is the openConversationId (cid…); ConversationType is
	// OneToOne or Group; ConversationTitle is a group's name.
	ConversationID    string `json:"conversationId"`
	ConversationType  string `json:"conversationType"`
	ConversationTitle string `json:"conversationTitle,omitempty"`
	// SenderID is the sender's encrypted id; SenderStaffID the userid,
	// empty for people outside the organisation (and before the robot is
	// published); SenderCorpID the sender's organisation.
	SenderID       string `json:"senderId,omitempty"`
	SenderStaffID  string `json:"senderStaffId,omitempty"`
	SenderUnionID  string `json:"senderUnionId,omitempty"`
	SenderNick     string `json:"senderNick,omitempty"`
	SenderCorpID   string `json:"senderCorpId,omitempty"`
	SenderPlatform string `json:"senderPlatform,omitempty"`
	IsAdmin        bool   `json:"isAdmin,omitempty"`
	// ChatbotCorpID, ChatbotUserID and RobotCode identify the robot.
	ChatbotCorpID string `json:"chatbotCorpId,omitempty"`
	ChatbotUserID string `json:"chatbotUserId,omitempty"`
	RobotCode     string `json:"robotCode,omitempty"`
	// IsInAtList says the robot was @-mentioned; AtUsers lists everyone
	// @-mentioned, the robot included.
	IsInAtList bool     `json:"isInAtList,omitempty"`
	AtUsers    []AtUser `json:"atUsers,omitempty"`
	// SessionWebhook answers in the conversation until
	// SessionWebhookExpiredTime. It is a credential: never log it.
	SessionWebhook            string `json:"sessionWebhook,omitempty"`
	SessionWebhookExpiredTime Millis `json:"sessionWebhookExpiredTime,omitzero"`
	// CreateAt is when the message was sent.
	CreateAt Millis `json:"createAt,omitzero"`
	// TextObject is a text message's text as DingTalk sends it; use
	// PlainText.
	TextObject *Text `json:"text,omitempty"`
	// Content is the content object of every other msgtype, as sent.
	Content json.RawMessage `json:"content,omitempty"`

	// The typed content, by msgtype; nil for the others.
	Text     *Text          `json:"-"`
	RichText []RichTextItem `json:"-"`
	Picture  *Picture       `json:"-"`
	Audio    *Audio         `json:"-"`
	Video    *Video         `json:"-"`
	File     *File          `json:"-"`

	// files fetches the message's files; set for chat handlers (Replies).
	files Downloader
}

// Text is a text message's content.
type Text struct {
	Content string `json:"content"`
}

// AtUser is someone @-mentioned: DingtalkID is encrypted; StaffID is the
// userid, empty for the robot and for people outside the organisation.
type AtUser struct {
	DingtalkID string `json:"dingtalkId,omitempty"`
	StaffID    string `json:"staffId,omitempty"`
	UnionID    string `json:"unionId,omitempty"`
}

// Picture is a picture message: download it with the download code
// (POST /v1.0/robot/messageFiles/download) before the code expires.
type Picture struct {
	DownloadCode        string `json:"downloadCode"`
	PictureDownloadCode string `json:"pictureDownloadCode,omitempty"`
}

// Audio is a voice message with DingTalk's speech-to-text.
type Audio struct {
	DownloadCode string `json:"downloadCode"`
	// Duration is in milliseconds.
	Duration    Milliseconds `json:"duration,omitempty"`
	Recognition string       `json:"recognition,omitempty"`
}

// Video is a video message.
type Video struct {
	DownloadCode string `json:"downloadCode"`
	// Duration is in milliseconds.
	Duration  Milliseconds `json:"duration,omitempty"`
	VideoType string       `json:"videoType,omitempty"`
}

// File is a file message; DingTalk names the download ".file": rename it
// to FileName's extension.
type File struct {
	DownloadCode string `json:"downloadCode"`
	FileName     string `json:"fileName,omitempty"`
	SpaceID      string `json:"spaceId,omitempty"`
	FileID       string `json:"fileId,omitempty"`
}

// RichTextItem is one part of a rich-text message: text, or (Type
// "picture") a picture's download code.
type RichTextItem struct {
	Text                string `json:"text,omitempty"`
	Type                string `json:"type,omitempty"`
	DownloadCode        string `json:"downloadCode,omitempty"`
	PictureDownloadCode string `json:"pictureDownloadCode,omitempty"`
}

// ParseError says why a payload is not a robot message. The chat handler
// treats it as permanent: retrying cannot fix the payload.
type ParseError struct {
	Reason string
	Err    error
}

// Error says what is wrong, never quoting the payload.
func (e *ParseError) Error() string {
	if e.Err != nil {
		return "chatbot: not a robot message: " + e.Reason + ": " + e.Err.Error()
	}
	return "chatbot: not a robot message: " + e.Reason
}

// Unwrap returns the decoding error.
func (e *ParseError) Unwrap() error { return e.Err }

// ParseMessage reads a robot message: DingTalk's JSON, with createAt and
// sessionWebhookExpiredTime as numbers or strings, and the typed content
// of the known msgtypes. A text message may also carry its text as a flat
// "content" string (as one of DingTalk's samples shows). It needs msgtype
// and conversationId; it fails with a *ParseError.
func ParseMessage(payload []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, &ParseError{Reason: "the body is not a JSON message object", Err: err}
	}
	switch {
	case m.MsgType == "":
		return nil, &ParseError{Reason: "msgtype is missing"}
	case m.ConversationID == "":
		return nil, &ParseError{Reason: "conversationId is missing"}
	}
	if err := m.typed(); err != nil {
		return nil, err
	}
	return &m, nil
}

// UnmarshalJSON decodes DingTalk's JSON, reading conversationType as a
// string or a number.
func (m *Message) UnmarshalJSON(b []byte) error {
	type plain Message
	var aux struct {
		*plain
		ConversationType flexString `json:"conversationType"`
	}
	aux.plain = (*plain)(m)
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	m.ConversationType = string(aux.ConversationType)
	return nil
}

// typed decodes the content of the known msgtypes.
func (m *Message) typed() error {
	content := bytes.TrimSpace(m.Content)
	isObject := len(content) > 0 && content[0] == '{'
	decode := func(v any) error {
		if !isObject {
			return &ParseError{Reason: m.MsgType + " message without its content object"}
		}
		if err := json.Unmarshal(content, v); err != nil {
			return &ParseError{Reason: m.MsgType + " content", Err: err}
		}
		return nil
	}
	switch m.MsgType {
	case TypeText:
		switch {
		case m.TextObject != nil:
			m.Text = m.TextObject
		case len(content) > 0 && content[0] == '"':
			var s string
			if err := json.Unmarshal(content, &s); err != nil {
				return &ParseError{Reason: "text content", Err: err}
			}
			m.Text = &Text{Content: s}
		default:
			return &ParseError{Reason: "text message without text"}
		}
	case TypeRichText:
		var c struct {
			RichText []RichTextItem `json:"richText"`
		}
		if err := decode(&c); err != nil {
			return err
		}
		m.RichText = c.RichText
	case TypePicture:
		m.Picture = &Picture{}
		return decode(m.Picture)
	case TypeAudio:
		m.Audio = &Audio{}
		return decode(m.Audio)
	case TypeVideo:
		m.Video = &Video{}
		return decode(m.Video)
	case TypeFile:
		m.File = &File{}
		return decode(m.File)
	}
	return nil
}

// IsGroup reports whether the message came from a group conversation.
func (m *Message) IsGroup() bool { return m.ConversationType == Group }

// PlainText is what the person wrote, trimmed: a text message's content
// (without the space DingTalk leaves after an @-mention), a rich text's
// text parts, a voice message's recognised speech; "" for the others.
func (m *Message) PlainText() string {
	switch {
	case m.Text != nil:
		return strings.TrimSpace(m.Text.Content)
	case m.RichText != nil:
		var parts []string
		for _, it := range m.RichText {
			if t := strings.TrimSpace(it.Text); t != "" {
				parts = append(parts, t)
			}
		}
		return strings.Join(parts, "\n")
	case m.Audio != nil:
		return strings.TrimSpace(m.Audio.Recognition)
	}
	return ""
}

// Mentions returns the userids @-mentioned in the message, besides the
// robot (people outside the organisation have none and are left out).
func (m *Message) Mentions() []string {
	var out []string
	for _, u := range m.AtUsers {
		if u.StaffID != "" && u.DingtalkID != m.ChatbotUserID {
			out = append(out, u.StaffID)
		}
	}
	return out
}

// SessionExpiresAt is when the session webhook stops working; zero when
// the message does not say.
func (m *Message) SessionExpiresAt() time.Time { return m.SessionWebhookExpiredTime.Time() }

// CreatedAt is when the message was sent; zero when it does not say.
func (m *Message) CreatedAt() time.Time { return m.CreateAt.Time() }

// CorpID is the organisation the message belongs to: the robot's, or the
// sender's.
func (m *Message) CorpID() string {
	if m.ChatbotCorpID != "" {
		return m.ChatbotCorpID
	}
	return m.SenderCorpID
}

// idPrefix starts every robot message's event id.
const idPrefix = "bot-"

// EventID is the message's id in the event log: "bot-" and the first 32
// hex digits of SHA-256 of "dingfn-chatbot/1⏎msg⏎" + msgId, or, for a
// message without msgId, of "dingfn-chatbot/1⏎at⏎" + conversationId + ⏎ +
// the sender (senderStaffId, else senderId) + ⏎ + createAt in Unix
// milliseconds, as DingTalk documents no other identity. A redelivery of
// a message gets the same id.
func EventID(m *Message) string {
	h := sha256.New()
	if m.MsgID != "" {
		fmt.Fprintf(h, "dingfn-chatbot/1\nmsg\n%s", m.MsgID)
	} else {
		sender := m.SenderStaffID
		if sender == "" {
			sender = m.SenderID
		}
		fmt.Fprintf(h, "dingfn-chatbot/1\nat\n%s\n%s\n%d", m.ConversationID, sender, int64(m.CreateAt))
	}
	return idPrefix + hex.EncodeToString(h.Sum(nil))[:32]
}

// Millis is a time in Unix milliseconds, read from a JSON number or a
// numeric string (DingTalk's tables type it as a string, its examples
// send a number) and written as a number.
type Millis int64

// Time returns the time, zero for 0.
func (t Millis) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(t))
}

// UnmarshalJSON accepts 1700000000000, "1700000000000" and null.
func (t *Millis) UnmarshalJSON(b []byte) error {
	n, err := parseFlexInt(b)
	*t = Millis(n)
	return err
}

// Milliseconds is a length of time in milliseconds, read from a JSON
// number or a numeric string.
type Milliseconds int64

// Duration returns the length as a time.Duration.
func (d Milliseconds) Duration() time.Duration { return time.Duration(d) * time.Millisecond }

// UnmarshalJSON accepts 4000, "4000" and null.
func (d *Milliseconds) UnmarshalJSON(b []byte) error {
	n, err := parseFlexInt(b)
	*d = Milliseconds(n)
	return err
}

func parseFlexInt(b []byte) (int64, error) {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return n, nil
}

// flexString is a JSON string or number, kept as a string.
type flexString string

// UnmarshalJSON accepts "2", 2 and null.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case string(b) == "null":
		*f = ""
	default:
		*f = flexString(b)
	}
	return nil
}
