package dingtalk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// RobotService sends messages through custom group robots (自定义机器人).
// A robot has its own webhook access token and, with 加签 enabled, a
// "SEC…" secret; the app token is not used.
type RobotService service

var epRobotSend = oapiEP(http.MethodPost, "/robot/send", false).withAuth(authNone)

// Webhook identifies a custom group robot.
type Webhook struct {
	// AccessToken is the access_token of the robot's webhook URL.
	AccessToken string
	// Secret is the 加签 secret ("SEC…"); empty if signing is off.
	Secret string
}

// String keeps the robot's token and secret out of fmt output.
func (w Webhook) String() string { return "dingtalk.Webhook{REDACTED}" }

// GoString keeps the robot's token and secret out of %#v output.
func (w Webhook) GoString() string { return w.String() }

// LogValue keeps the robot's token and secret out of slog output.
func (w Webhook) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// WebhookFromURL builds a Webhook from the URL DingTalk shows for the
// robot (https://oapi.dingtalk.com/robot/send?access_token=…) and its
// secret.
func WebhookFromURL(rawURL, secret string) (Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Webhook{}, errors.New("dingtalk: robot webhook URL does not parse")
	}
	tok := u.Query().Get("access_token")
	if tok == "" {
		return Webhook{}, errors.New("dingtalk: robot webhook URL has no access_token")
	}
	return Webhook{AccessToken: tok, Secret: secret}, nil
}

// RobotMessage is a group robot message: MsgType plus the matching object,
// optional @-mentions and an optional MsgUUID that DingTalk uses to drop
// duplicates.
type RobotMessage struct {
	MsgType    MsgType          `json:"msgtype"`
	Text       *TextContent     `json:"text,omitempty"`
	Link       *RobotLink       `json:"link,omitempty"`
	Markdown   *MarkdownContent `json:"markdown,omitempty"`
	ActionCard *RobotActionCard `json:"actionCard,omitempty"`
	FeedCard   *RobotFeedCard   `json:"feedCard,omitempty"`
	At         *At              `json:"at,omitempty"`
	MsgUUID    string           `json:"msgUuid,omitempty"`
}

// RobotLink is a robot link message.
type RobotLink struct {
	Title      string `json:"title"`
	Text       string `json:"text"`
	MessageURL string `json:"messageUrl"`
	PicURL     string `json:"picUrl,omitempty"`
}

// RobotActionCard is a robot card with one button (SingleTitle,
// SingleURL) or several (Btns).
type RobotActionCard struct {
	Title          string         `json:"title"`
	Text           string         `json:"text"`
	BtnOrientation string         `json:"btnOrientation,omitempty"`
	HideAvatar     string         `json:"hideAvatar,omitempty"`
	SingleTitle    string         `json:"singleTitle,omitempty"`
	SingleURL      string         `json:"singleURL,omitempty"`
	Btns           []RobotCardBtn `json:"btns,omitempty"`
}

// RobotCardBtn is one button of a RobotActionCard.
type RobotCardBtn struct {
	Title     string `json:"title"`
	ActionURL string `json:"actionURL"`
}

// RobotFeedCard is a list of links.
type RobotFeedCard struct {
	Links []RobotFeedLink `json:"links"`
}

// RobotFeedLink is one entry of a RobotFeedCard (note DingTalk's
// messageURL/picURL casing here).
type RobotFeedLink struct {
	Title      string `json:"title"`
	MessageURL string `json:"messageURL"`
	PicURL     string `json:"picURL"`
}

// At lists who a robot message @-mentions.
type At struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	AtUserIDs []string `json:"atUserIds,omitempty"`
	IsAtAll   bool     `json:"isAtAll,omitempty"`
}

// Limits of custom group robots.
const (
	// MaxRobotMentions is how many people one message may @-mention.
	MaxRobotMentions = 50
	// MaxRobotMessagesPerMinute is how many messages a robot may send in
	// a minute; past it DingTalk mutes the robot for RobotMute.
	MaxRobotMessagesPerMinute = 20
	// RobotMute is how long DingTalk mutes a robot that sent too fast
	// (410100).
	RobotMute = 10 * time.Minute
)

// RobotText returns a text robot message mentioning the given userids;
// the "@userid" markers DingTalk needs are appended to the text.
func RobotText(content string, atUserIDs ...string) *RobotMessage {
	m := &RobotMessage{MsgType: MsgTypeText, Text: &TextContent{Content: content}}
	if len(atUserIDs) > 0 {
		m.At = &At{AtUserIDs: atUserIDs}
		m.Text.Content = appendMentions(content, atUserIDs)
	}
	return m
}

// RobotMarkdown returns a markdown robot message mentioning the given
// userids; the "@userid" markers are appended to the text.
func RobotMarkdown(title, text string, atUserIDs ...string) *RobotMessage {
	m := &RobotMessage{MsgType: MsgTypeMarkdown, Markdown: &MarkdownContent{Title: title, Text: text}}
	if len(atUserIDs) > 0 {
		m.At = &At{AtUserIDs: atUserIDs}
		m.Markdown.Text = appendMentions(text, atUserIDs)
	}
	return m
}

func appendMentions(text string, ids []string) string {
	var b strings.Builder
	b.WriteString(text)
	for _, id := range ids {
		if !strings.Contains(text, "@"+id) {
			b.WriteString(" @")
			b.WriteString(id)
		}
	}
	return b.String()
}

// Validate checks the message type, required fields and @-mentions: at
// most 50, none on link and feedCard, and each one written as "@…" in the
// text, without which DingTalk does not notify the person. It returns a
// *[ValidationError] naming the field as in DingTalk's JSON.
func (m *RobotMessage) Validate() error {
	if m == nil {
		return required("msgtype", "message is nil")
	}
	present := [...]msgObject{
		{MsgTypeText, m.Text != nil}, {MsgTypeLink, m.Link != nil}, {MsgTypeMarkdown, m.Markdown != nil},
		{MsgTypeRobotActionCard, m.ActionCard != nil}, {MsgTypeFeedCard, m.FeedCard != nil},
	}
	if err := checkObjects(m.MsgType, present[:], "unknown robot msgtype"); err != nil {
		return err
	}
	if err := m.checkFields(); err != nil {
		return err
	}
	return m.checkMentions()
}

// checkFields checks the fields of the message's own object.
func (m *RobotMessage) checkFields() error {
	switch m.MsgType {
	case MsgTypeText:
		return firstErr(nonEmpty("", "text.content", m.Text.Content))
	case MsgTypeMarkdown:
		return firstErr(nonEmpty("markdown needs title and text", "markdown.title", m.Markdown.Title, "markdown.text", m.Markdown.Text))
	case MsgTypeLink:
		l := m.Link
		return firstErr(nonEmpty("link needs title, text and messageUrl", "link.title", l.Title, "link.text", l.Text, "link.messageUrl", l.MessageURL))
	case MsgTypeRobotActionCard:
		return m.ActionCard.check()
	case MsgTypeFeedCard:
		if len(m.FeedCard.Links) == 0 {
			return required("feedCard.links", "feedCard has no links")
		}
		for i, l := range m.FeedCard.Links {
			f := fmt.Sprintf("feedCard.links[%d].", i)
			if err := nonEmpty("a feedCard link needs title, messageURL and picURL",
				f+"title", l.Title, f+"messageURL", l.MessageURL, f+"picURL", l.PicURL); err != nil {
				return err
			}
		}
	}
	return nil
}

// check applies the actionCard rules: title and text, and either one
// button (singleTitle + singleURL) or a list of btns, never both;
// btnOrientation and hideAvatar are "0" or "1" when set.
func (a *RobotActionCard) check() error {
	if err := nonEmpty("actionCard needs title and text", "actionCard.title", a.Title, "actionCard.text", a.Text); err != nil {
		return err
	}
	const either = "actionCard needs either singleTitle+singleURL or btns"
	single := a.SingleTitle != "" || a.SingleURL != ""
	switch {
	case single && len(a.Btns) > 0:
		return exclusive("actionCard.btns", either+", not both", "actionCard.singleTitle")
	case !single && len(a.Btns) == 0:
		return required("actionCard.singleTitle", either, "actionCard.btns")
	case single:
		if err := nonEmpty("actionCard needs both singleTitle and singleURL",
			"actionCard.singleTitle", a.SingleTitle, "actionCard.singleURL", a.SingleURL); err != nil {
			return err
		}
	}
	for i, b := range a.Btns {
		f := fmt.Sprintf("actionCard.btns[%d].", i)
		if err := nonEmpty("a button needs title and actionURL", f+"title", b.Title, f+"actionURL", b.ActionURL); err != nil {
			return err
		}
	}
	for _, fv := range [...][2]string{{"actionCard.btnOrientation", a.BtnOrientation}, {"actionCard.hideAvatar", a.HideAvatar}} {
		if fv[1] != "" && fv[1] != "0" && fv[1] != "1" {
			return oneOf(fv[0], fv[1], "0", "1")
		}
	}
	return nil
}

// checkMentions checks the @-mentions against the text they must appear
// in.
func (m *RobotMessage) checkMentions() error {
	if m.At == nil {
		return nil
	}
	n := len(m.At.AtMobiles) + len(m.At.AtUserIDs)
	if n == 0 && !m.At.IsAtAll {
		return nil
	}
	if m.MsgType == MsgTypeLink || m.MsgType == MsgTypeFeedCard {
		return &ValidationError{Field: "at", Rule: RuleMention, Detail: fmt.Sprintf("%s messages cannot @-mention anyone", m.MsgType)}
	}
	if err := maxCount("at", n, MaxRobotMentions, "@-mentions"); err != nil {
		return err
	}
	var text string
	switch m.MsgType {
	case MsgTypeText:
		text = m.Text.Content
	case MsgTypeMarkdown:
		text = m.Markdown.Text
	case MsgTypeRobotActionCard:
		text = m.ActionCard.Text
	}
	for _, list := range [...]struct {
		field string
		who   []string
	}{{"at.atMobiles", m.At.AtMobiles}, {"at.atUserIds", m.At.AtUserIDs}} {
		for _, who := range list.who {
			if !strings.Contains(text, "@"+who) {
				return &ValidationError{Field: list.field, Rule: RuleMention,
					Detail: fmt.Sprintf("@-mention %q does not appear as \"@%s\" in the text", who, who)}
			}
		}
	}
	return nil
}

// Send posts msg through the robot. With a Secret the call is signed
// (timestamp and sign in the query) when it leaves, after any wait for the
// robot's rate limit. Each robot is rate limited on the
// client so that it stays under DingTalk's 20 messages a minute, past
// which DingTalk mutes it for 10 minutes. A send is never repeated after a
// failure with an unknown outcome; set MsgUUID to let DingTalk drop a
// duplicate if you resend yourself.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/custom-robots-send-group-messages
func (s *RobotService) Send(ctx context.Context, hook Webhook, msg *RobotMessage) error {
	if hook.AccessToken == "" {
		return errors.New("dingtalk: robot webhook has no access token")
	}
	if err := msg.Validate(); err != nil {
		return fmt.Errorf("dingtalk: robot message: %w", err)
	}
	c := s.client
	r := &request{
		ep: epRobotSend, query: url.Values{"access_token": {hook.AccessToken}}, body: msg,
		limiterKey: "robot/send#" + hex.EncodeToString(sum8(hook.AccessToken)),
		limit:      c.limits.robot,
	}
	if hook.Secret != "" {
		// Signed when the limiter lets the message go, not when it was
		// queued: DingTalk refuses a timestamp more than an hour old.
		r.sign = func(q url.Values, now time.Time) {
			ts := now.UnixMilli()
			q.Set("timestamp", strconv.FormatInt(ts, 10))
			q.Set("sign", dingcrypto.RobotSign(hook.Secret, ts))
		}
	}
	return c.do(ctx, r, nil)
}

// sum8 is the first 8 bytes of s's SHA-256, naming a robot's limiter
// without keeping its token.
func sum8(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:8]
}
