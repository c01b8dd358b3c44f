package dingtalk

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// wantInvalid checks that err is a *ValidationError for field and rule.
func wantInvalid(t *testing.T, err error, field string, rule Rule) *ValidationError {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T), want a *ValidationError", err, err)
	}
	if ve.Field != field || ve.Rule != rule {
		t.Fatalf("got field %q rule %q (%v), want field %q rule %q", ve.Field, ve.Rule, err, field, rule)
	}
	if !strings.HasPrefix(ve.Error(), field+": ") {
		t.Errorf("Error() = %q, want it to start with the field", ve.Error())
	}
	return ve
}

func card(c ActionCard) *Message { return &Message{MsgType: MsgTypeActionCard, ActionCard: &c} }

func oa(o OAContent) *Message { return &Message{MsgType: MsgTypeOA, OA: &o} }

func validOA() OAContent {
	return OAContent{MessageURL: "https://m", Head: OAHead{BgColor: "FFBBBBBB", Text: "头"}}
}

func TestMessageValidationErrors(t *testing.T) {
	t.Parallel()
	btn := ActionCardButton{Title: "看", ActionURL: "https://a"}
	sevenLines := make([]OAFormItem, 7)
	tests := []struct {
		name  string
		msg   *Message
		field string
		rule  Rule
		check func(t *testing.T, ve *ValidationError)
	}{
		{"nil", nil, "msg", RuleRequired, nil},
		{"unknown type", &Message{MsgType: "sticker"}, "msg.msgtype", RuleOneOf, func(t *testing.T, ve *ValidationError) {
			if !slices.Equal(ve.Allowed, []string{"text", "image", "voice", "file", "link", "oa", "markdown", "action_card"}) {
				t.Errorf("Allowed = %v", ve.Allowed)
			}
		}},
		{"robot type on a notice", &Message{MsgType: MsgTypeRobotActionCard}, "msg.msgtype", RuleOneOf, nil},
		{"type without object", &Message{MsgType: MsgTypeImage}, "msg.image", RuleRequired, nil},
		{"second object", &Message{MsgType: MsgTypeText, Text: &TextContent{"a"}, Link: &LinkContent{}}, "msg.link", RuleExclusive, nil},
		{"empty text", TextMessage(""), "msg.text.content", RuleRequired, nil},
		{"image without media", &Message{MsgType: MsgTypeImage, Image: &MediaContent{}}, "msg.image.media_id", RuleRequired, nil},
		{"file without media", &Message{MsgType: MsgTypeFile, File: &MediaContent{}}, "msg.file.media_id", RuleRequired, nil},
		{"voice without duration", &Message{MsgType: MsgTypeVoice, Voice: &VoiceContent{MediaID: "@v"}}, "msg.voice.duration", RuleRequired, nil},
		{"voice of 60 s", &Message{MsgType: MsgTypeVoice, Voice: &VoiceContent{"@v", "60"}}, "msg.voice.duration", RuleFormat, nil},
		{"voice duration not a number", &Message{MsgType: MsgTypeVoice, Voice: &VoiceContent{"@v", "1.5"}}, "msg.voice.duration", RuleFormat, nil},
		{"link without picUrl", LinkMessage("t", "x", "https://m", ""), "msg.link.picUrl", RuleRequired, nil},
		{"markdown without title", MarkdownMessage("", "x"), "msg.markdown.title", RuleRequired, nil},
		{"markdown too long", MarkdownMessage("t", strings.Repeat("a", 5001)), "msg.markdown.text", RuleMaxLength, func(t *testing.T, ve *ValidationError) {
			if ve.Limit != MaxMarkdownChars || ve.Actual != 5001 {
				t.Errorf("Limit, Actual = %d, %d", ve.Limit, ve.Actual)
			}
		}},
		{"card without markdown", card(ActionCard{SingleTitle: "a", SingleURL: "u"}), "msg.action_card.markdown", RuleRequired, nil},
		{"card without buttons", card(ActionCard{Markdown: "m"}), "msg.action_card.single_title", RuleRequired, nil},
		{"card with both button kinds", card(ActionCard{Markdown: "m", SingleTitle: "a", SingleURL: "u", BtnOrientation: "0", BtnJSONList: []ActionCardButton{btn}}),
			"msg.action_card.btn_json_list", RuleExclusive, func(t *testing.T, ve *ValidationError) {
				if !slices.Equal(ve.Others, []string{"msg.action_card.single_title"}) {
					t.Errorf("Others = %v", ve.Others)
				}
			}},
		{"single title without url", card(ActionCard{Markdown: "m", SingleTitle: "a"}), "msg.action_card.single_url", RuleRequired, nil},
		{"single title of 21 characters", card(ActionCard{Markdown: "m", SingleTitle: strings.Repeat("字", 21), SingleURL: "u"}),
			"msg.action_card.single_title", RuleMaxLength, nil},
		{"single url of 501 characters", card(ActionCard{Markdown: "m", SingleTitle: "a", SingleURL: strings.Repeat("u", 501)}),
			"msg.action_card.single_url", RuleMaxLength, nil},
		{"buttons without orientation", card(ActionCard{Markdown: "m", BtnJSONList: []ActionCardButton{btn}}),
			"msg.action_card.btn_orientation", RuleRequired, nil},
		{"orientation out of range", card(ActionCard{Markdown: "m", BtnOrientation: "2", BtnJSONList: []ActionCardButton{btn}}),
			"msg.action_card.btn_orientation", RuleOneOf, func(t *testing.T, ve *ValidationError) {
				if !slices.Equal(ve.Allowed, []string{"0", "1"}) {
					t.Errorf("Allowed = %v", ve.Allowed)
				}
			}},
		{"button without url", card(ActionCard{Markdown: "m", BtnOrientation: "1", BtnJSONList: []ActionCardButton{btn, {Title: "b"}}}),
			"msg.action_card.btn_json_list[1].action_url", RuleRequired, nil},
		{"button url of 701 characters", card(ActionCard{Markdown: "m", BtnOrientation: "1", BtnJSONList: []ActionCardButton{{"b", strings.Repeat("u", 701)}}}),
			"msg.action_card.btn_json_list[0].action_url", RuleMaxLength, nil},
		{"button list over 1000 characters", card(ActionCard{Markdown: "m", BtnOrientation: "1",
			BtnJSONList: []ActionCardButton{{"a", strings.Repeat("u", 480)}, {"b", strings.Repeat("v", 480)}}}),
			"msg.action_card.btn_json_list", RuleMaxLength, nil},
		{"oa without url", oa(OAContent{Head: OAHead{BgColor: "FFBBBBBB", Text: "头"}}), "msg.oa.message_url", RuleRequired, nil},
		{"oa without bgcolor", oa(OAContent{MessageURL: "https://m", Head: OAHead{Text: "头"}}), "msg.oa.head.bgcolor", RuleRequired, nil},
		{"oa bgcolor with 0x", oa(OAContent{MessageURL: "https://m", Head: OAHead{BgColor: "0xFFBBBB", Text: "头"}}), "msg.oa.head.bgcolor", RuleFormat, nil},
		{"oa without head text", oa(OAContent{MessageURL: "https://m", Head: OAHead{BgColor: "FFBBBBBB"}}), "msg.oa.head.text", RuleRequired, nil},
		{"oa with 7 form lines", func() *Message { o := validOA(); o.Body.Form = sevenLines; return oa(o) }(), "msg.oa.body.form", RuleMaxCount, nil},
		{"too large", TextMessage(strings.Repeat("字", 700)), "msg", RuleMaxBytes, func(t *testing.T, ve *ValidationError) {
			if ve.Limit != MaxMessageBytes || ve.Actual <= MaxMessageBytes {
				t.Errorf("Limit, Actual = %d, %d", ve.Limit, ve.Actual)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ve := wantInvalid(t, tt.msg.Validate(), tt.field, tt.rule)
			if tt.check != nil {
				tt.check(t, ve)
			}
		})
	}
}

func TestMessageValidAtTheLimits(t *testing.T) {
	t.Parallel()
	o := validOA()
	o.Body.Form = make([]OAFormItem, MaxOAFormItems)
	msgs := map[string]*Message{
		"voice of 59 s": {MsgType: MsgTypeVoice, Voice: &VoiceContent{"@v", "59"}},
		"single card at its limits": card(ActionCard{Markdown: "m",
			SingleTitle: strings.Repeat("字", MaxCardTitleChars), SingleURL: strings.Repeat("u", MaxCardSingleURLChars)}),
		"vertical buttons":     card(ActionCard{Markdown: "m", BtnOrientation: "0", BtnJSONList: []ActionCardButton{{"a", "https://a"}, {"b", "https://b"}}}),
		"oa with 6 form lines": oa(o),
		"lower-case bgcolor":   oa(OAContent{MessageURL: "https://m", Head: OAHead{BgColor: "ffbbbbbb", Text: "头"}}),
	}
	for name, m := range msgs {
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestWorkNoticeValidationErrors(t *testing.T) {
	t.Parallel()
	users := func(n int) CommaStrings { return make(CommaStrings, n) }
	tests := []struct {
		name  string
		n     *WorkNotice
		field string
		rule  Rule
	}{
		{"nil", nil, "msg", RuleRequired},
		{"no agent", &WorkNotice{ToAllUser: true, Msg: TextMessage("x")}, "agent_id", RuleRequired},
		{"no recipients", &WorkNotice{AgentID: 1, Msg: TextMessage("x")}, "userid_list", RuleRequired},
		{"101 users", &WorkNotice{AgentID: 1, UserIDList: users(MaxNoticeUsers + 1), Msg: TextMessage("x")}, "userid_list", RuleMaxCount},
		{"21 departments", &WorkNotice{AgentID: 1, DeptIDList: make(CommaInts, MaxNoticeDepts+1), Msg: TextMessage("x")}, "dept_id_list", RuleMaxCount},
		{"no msg", &WorkNotice{AgentID: 1, ToAllUser: true}, "msg", RuleRequired},
		{"message field nested under msg", &WorkNotice{AgentID: 1, ToAllUser: true, Msg: card(ActionCard{Markdown: "m", BtnJSONList: []ActionCardButton{{"a", "u"}}})},
			"msg.action_card.btn_orientation", RuleRequired},
		{"message type nested under msg", &WorkNotice{AgentID: 1, ToAllUser: true, Msg: &Message{MsgType: "sticker"}}, "msg.msgtype", RuleOneOf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantInvalid(t, tt.n.Validate(), tt.field, tt.rule)
		})
	}
	n := &WorkNotice{AgentID: 1, UserIDList: users(MaxNoticeUsers), DeptIDList: make(CommaInts, MaxNoticeDepts), Msg: TextMessage("x")}
	if err := n.Validate(); err != nil {
		t.Errorf("notice at the recipient limits: %v", err)
	}
}

// TestSendReturnsValidationError: Send wraps the typed error, and a card
// whose buttons lack btn_orientation (which DingTalk rejects) never leaves.
func TestSendReturnsValidationError(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hits := e.handle(t, http.MethodPost, "/topapi/message/corpconversation/asyncsend_v2", nil, `{"errcode":0,"task_id":1}`)
	_, err := e.client.Message.Send(context.Background(), &WorkNotice{AgentID: 1, ToAllUser: true,
		Msg: card(ActionCard{Title: "t", Markdown: "m", BtnJSONList: []ActionCardButton{{"a", "https://a"}}})})
	wantInvalid(t, err, "msg.action_card.btn_orientation", RuleRequired)
	if !strings.HasPrefix(err.Error(), "dingtalk: work notice: ") {
		t.Errorf("err = %q, want the work-notice prefix", err)
	}
	err = e.client.Robot.Send(context.Background(), Webhook{AccessToken: "r"}, &RobotMessage{MsgType: MsgTypeRobotActionCard,
		ActionCard: &RobotActionCard{Title: "t", Text: "x", BtnOrientation: "2", Btns: []RobotCardBtn{{"a", "https://a"}}}})
	wantInvalid(t, err, "actionCard.btnOrientation", RuleOneOf)
	if hits.Load() != 0 {
		t.Error("an invalid message reached DingTalk")
	}
}

// TestSendEncodesTheMessageOnce: the bytes Validate measured are the bytes
// sent, byte for byte, inside the notice.
func TestSendEncodesTheMessageOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	m := MarkdownMessage("标题 <b>", "正文 & more")
	want, err := m.validate()
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	e.handle(t, http.MethodPost, "/topapi/message/corpconversation/asyncsend_v2", func(r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		body = b
	}, `{"errcode":0,"task_id":1}`)
	if _, err := e.client.Message.Send(context.Background(), &WorkNotice{AgentID: 1, ToAllUser: true, Msg: m}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"msg":`+string(want)+`}`) {
		t.Errorf("body %s does not carry the validated message %s", body, want)
	}
}

func TestRobotValidationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		msg   *RobotMessage
		field string
		rule  Rule
	}{
		{"nil", nil, "msgtype", RuleRequired},
		{"notice type", &RobotMessage{MsgType: MsgTypeActionCard}, "msgtype", RuleOneOf},
		{"no object", &RobotMessage{MsgType: MsgTypeFeedCard}, "feedCard", RuleRequired},
		{"two objects", &RobotMessage{MsgType: MsgTypeText, Text: &TextContent{"x"}, Markdown: &MarkdownContent{"t", "x"}}, "markdown", RuleExclusive},
		{"empty text", RobotText(""), "text.content", RuleRequired},
		{"markdown without text", RobotMarkdown("t", ""), "markdown.text", RuleRequired},
		{"link without messageUrl", &RobotMessage{MsgType: MsgTypeLink, Link: &RobotLink{Title: "t", Text: "x"}}, "link.messageUrl", RuleRequired},
		{"card without title", &RobotMessage{MsgType: MsgTypeRobotActionCard, ActionCard: &RobotActionCard{Text: "x", SingleTitle: "a", SingleURL: "u"}},
			"actionCard.title", RuleRequired},
		{"card without buttons", &RobotMessage{MsgType: MsgTypeRobotActionCard, ActionCard: &RobotActionCard{Title: "t", Text: "x"}},
			"actionCard.singleTitle", RuleRequired},
		{"card with both", &RobotMessage{MsgType: MsgTypeRobotActionCard, ActionCard: &RobotActionCard{Title: "t", Text: "x", SingleTitle: "a", SingleURL: "u",
			Btns: []RobotCardBtn{{"b", "u"}}}}, "actionCard.btns", RuleExclusive},
		{"singleTitle without singleURL", &RobotMessage{MsgType: MsgTypeRobotActionCard, ActionCard: &RobotActionCard{Title: "t", Text: "x", SingleTitle: "a"}},
			"actionCard.singleURL", RuleRequired},
		{"button without actionURL", &RobotMessage{MsgType: MsgTypeRobotActionCard, ActionCard: &RobotActionCard{Title: "t", Text: "x",
			Btns: []RobotCardBtn{{Title: "b"}}}}, "actionCard.btns[0].actionURL", RuleRequired},
		{"hideAvatar out of range", &RobotMessage{MsgType: MsgTypeRobotActionCard, ActionCard: &RobotActionCard{Title: "t", Text: "x", SingleTitle: "a", SingleURL: "u",
			HideAvatar: "yes"}}, "actionCard.hideAvatar", RuleOneOf},
		{"empty feed", &RobotMessage{MsgType: MsgTypeFeedCard, FeedCard: &RobotFeedCard{}}, "feedCard.links", RuleRequired},
		{"feed link without picURL", &RobotMessage{MsgType: MsgTypeFeedCard, FeedCard: &RobotFeedCard{Links: []RobotFeedLink{{"t", "https://m", ""}}}},
			"feedCard.links[0].picURL", RuleRequired},
		{"mention missing from text", &RobotMessage{MsgType: MsgTypeText, Text: &TextContent{"hi"}, At: &At{AtUserIDs: []string{"u1"}}}, "at.atUserIds", RuleMention},
		{"feedCard cannot mention", &RobotMessage{MsgType: MsgTypeFeedCard, FeedCard: &RobotFeedCard{Links: []RobotFeedLink{{"t", "m", "p"}}},
			At: &At{IsAtAll: true}}, "at", RuleMention},
		{"51 mentions", RobotText("x", make([]string, MaxRobotMentions+1)...), "at", RuleMaxCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantInvalid(t, tt.msg.Validate(), tt.field, tt.rule)
		})
	}
}

func TestMsgTypeLists(t *testing.T) {
	t.Parallel()
	a := NoticeMsgTypes()
	a[0] = "changed"
	if NoticeMsgTypes()[0] != MsgTypeText {
		t.Error("NoticeMsgTypes returns shared storage")
	}
	if got := RobotMsgTypes(); !slices.Equal(got, []MsgType{"text", "link", "markdown", "actionCard", "feedCard"}) {
		t.Errorf("RobotMsgTypes() = %v", got)
	}
}
