package dingtalk

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestMessageSend(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/message/corpconversation/asyncsend_v2", func(r *http.Request) {
		testOAPIToken(t, r)
		testJSONBody(t, r, `{"agent_id":123,"userid_list":"u1,u2","dept_id_list":"5","msg":{"msgtype":"text","text":{"content":"你好"}}}`)
	}, `{"errcode":0,"task_id":256271667526,"request_id":"r"}`)
	id, err := e.client.Message.Send(context.Background(), &WorkNotice{
		AgentID: 123, UserIDList: CommaStrings{"u1", "u2"}, DeptIDList: CommaInts{5}, Msg: TextMessage("你好"),
	})
	if err != nil || id != 256271667526 {
		t.Errorf("Send = %d, %v", id, err)
	}
}

func TestMessageTypesEncode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  *Message
		want string
	}{
		{"markdown", MarkdownMessage("标题", "# 正文"), `{"msgtype":"markdown","markdown":{"title":"标题","text":"# 正文"}}`},
		{"link", LinkMessage("t", "x", "https://m", "https://p"), `{"msgtype":"link","link":{"messageUrl":"https://m","picUrl":"https://p","title":"t","text":"x"}}`},
		{"image", &Message{MsgType: "image", Image: &MediaContent{"@lADO"}}, `{"msgtype":"image","image":{"media_id":"@lADO"}}`},
		{"voice", &Message{MsgType: "voice", Voice: &VoiceContent{"@v", "10"}}, `{"msgtype":"voice","voice":{"media_id":"@v","duration":"10"}}`},
		{"file", &Message{MsgType: "file", File: &MediaContent{"@f"}}, `{"msgtype":"file","file":{"media_id":"@f"}}`},
		{"action card single", &Message{MsgType: "action_card", ActionCard: &ActionCard{Title: "t", Markdown: "m", SingleTitle: "看", SingleURL: "https://s"}},
			`{"msgtype":"action_card","action_card":{"title":"t","markdown":"m","single_title":"看","single_url":"https://s"}}`},
		{"action card buttons", &Message{MsgType: "action_card", ActionCard: &ActionCard{Markdown: "m", BtnOrientation: "1", BtnJSONList: []ActionCardButton{{"a", "https://a"}}}},
			`{"msgtype":"action_card","action_card":{"markdown":"m","btn_orientation":"1","btn_json_list":[{"title":"a","action_url":"https://a"}]}}`},
		{"oa", &Message{MsgType: "oa", OA: &OAContent{MessageURL: "https://m", Head: OAHead{BgColor: "FFBBBBBB", Text: "头"},
			StatusBar: &OAStatusBar{StatusValue: "进行中", StatusBg: "0xFFF65E5E"},
			Body:      OABody{Title: "正文", Form: []OAFormItem{{"姓名:", "张三"}}, Rich: &OARich{"15.6", "元"}, FileCount: "3", Author: "李四"}}},
			`{"msgtype":"oa","oa":{"message_url":"https://m","head":{"bgcolor":"FFBBBBBB","text":"头"},"status_bar":{"status_value":"进行中","status_bg":"0xFFF65E5E"},"body":{"title":"正文","form":[{"key":"姓名:","value":"张三"}],"rich":{"num":"15.6","unit":"元"},"file_count":"3","author":"李四"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.handle(t, http.MethodPost, "/topapi/message/corpconversation/asyncsend_v2", func(r *http.Request) {
				testJSONBody(t, r, `{"agent_id":1,"to_all_user":true,"msg":`+tt.want+`}`)
			}, `{"errcode":0,"task_id":1}`)
			if _, err := e.client.Message.Send(context.Background(), &WorkNotice{AgentID: 1, ToAllUser: true, Msg: tt.msg}); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestWorkNoticeValidate(t *testing.T) {
	t.Parallel()
	many := make(CommaStrings, 101)
	for i := range many {
		many[i] = "u"
	}
	big := strings.Repeat("字", 1000)
	tests := []struct {
		name string
		n    *WorkNotice
		want string
	}{
		{"no agent", &WorkNotice{ToAllUser: true, Msg: TextMessage("x")}, "agent_id"},
		{"no recipients", &WorkNotice{AgentID: 1, Msg: TextMessage("x")}, "no recipients"},
		{"too many users", &WorkNotice{AgentID: 1, UserIDList: many, Msg: TextMessage("x")}, "more than 100"},
		{"no msg", &WorkNotice{AgentID: 1, ToAllUser: true}, "nil"},
		{"unknown type", &WorkNotice{AgentID: 1, ToAllUser: true, Msg: &Message{MsgType: "sticker"}}, "unknown msgtype"},
		{"type without object", &WorkNotice{AgentID: 1, ToAllUser: true, Msg: &Message{MsgType: "text"}}, "without its text"},
		{"two objects", &WorkNotice{AgentID: 1, ToAllUser: true, Msg: &Message{MsgType: "text", Text: &TextContent{"a"}, Markdown: &MarkdownContent{"t", "x"}}}, "one type"},
		{"empty link field", &WorkNotice{AgentID: 1, ToAllUser: true, Msg: LinkMessage("t", "x", "", "p")}, "link needs"},
		{"card with both button kinds", &WorkNotice{AgentID: 1, ToAllUser: true, Msg: &Message{MsgType: "action_card", ActionCard: &ActionCard{Markdown: "m", SingleTitle: "a", SingleURL: "u", BtnJSONList: []ActionCardButton{{"b", "u"}}}}}, "either"},
		{"too large", &WorkNotice{AgentID: 1, ToAllUser: true, Msg: TextMessage(big)}, "more than 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			hits := e.handle(t, http.MethodPost, "/topapi/message/corpconversation/asyncsend_v2", nil, `{"errcode":0}`)
			_, err := e.client.Message.Send(context.Background(), tt.n)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
			if hits.Load() != 0 {
				t.Error("invalid notice reached DingTalk")
			}
		})
	}
}

func TestSendProgressResultRecall(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/message/corpconversation/getsendprogress", func(r *http.Request) {
		testJSONBody(t, r, `{"agent_id":1,"task_id":9}`)
	}, `{"errcode":0,"progress":{"progress_in_percent":100,"status":2}}`)
	e.handle(t, http.MethodPost, "/topapi/message/corpconversation/getsendresult", func(r *http.Request) {
		testJSONBody(t, r, `{"agent_id":1,"task_id":9}`)
	}, readTestdata(t, "message_getsendresult.json"))
	e.handle(t, http.MethodPost, "/topapi/message/corpconversation/recall", func(r *http.Request) {
		testJSONBody(t, r, `{"agent_id":1,"msg_task_id":9}`)
	}, `{"errcode":0}`)
	ctx := context.Background()
	p, err := e.client.Message.SendProgress(ctx, 1, 9)
	if err != nil || *p != (SendProgress{100, 2}) {
		t.Errorf("SendProgress = %+v, %v", p, err)
	}
	res, err := e.client.Message.SendResult(ctx, 1, 9)
	if err != nil {
		t.Fatal(err)
	}
	want := SendResult{
		InvalidUserIDList: []string{"bad1"}, ForbiddenUserIDList: []string{"u9"}, FailedUserIDList: []string{},
		ReadUserIDList: []string{"u1"}, UnreadUserIDList: []string{"u2"}, InvalidDeptIDList: []int64{404},
		ForbiddenList: []ForbiddenItem{{Code: "143106", Count: 1, UserID: "u9"}},
	}
	if !reflect.DeepEqual(*res, want) {
		t.Errorf("SendResult = %+v, want %+v", *res, want)
	}
	if err := e.client.Message.Recall(ctx, 1, 9); err != nil {
		t.Error(err)
	}
}
