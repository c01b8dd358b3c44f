package chatbot_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/chatbot"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenMessages reads every payload under testdata/ (one per msgtype
// DingTalk sends a robot, and its variants: createAt as a string, the flat
// content of one sample, no msgId, an unknown msgtype), checks the typed
// message, and round-trips it: encoding the Message and reading it again
// gives the same Message.
func TestGoldenMessages(t *testing.T) {
	t.Parallel()
	created := time.UnixMilli(1772442000000)
	expires := time.UnixMilli(1772447400000)
	tests := []struct {
		file     string
		msgtype  string
		group    bool
		text     string
		mentions []string
		check    func(t *testing.T, m *chatbot.Message)
	}{
		{"text_group.json", chatbot.TypeText, true, "谁是 @张三", []string{"zhangsan"}, func(t *testing.T, m *chatbot.Message) {
			if m.ConversationTitle != "钉峰科技研发群" || m.SenderStaffID != "lisi" || m.SenderNick != "李四" || !m.IsInAtList || m.RobotCode != "dingexamplerobotcode" {
				t.Errorf("fields: %+v", m)
			}
		}},
		{"text_one_to_one.json", chatbot.TypeText, false, "今天谁值班？", nil, func(t *testing.T, m *chatbot.Message) {
			if m.ConversationType != chatbot.OneToOne || !m.IsAdmin || m.SenderUnionID != "unionLisiExample000" || m.SenderPlatform != "Mac" {
				t.Errorf("fields: %+v", m)
			}
		}},
		{"text_flat_content.json", chatbot.TypeText, false, "hello", nil, nil},
		{"richText.json", chatbot.TypeRichText, false, "报销单据\n请审批", nil, func(t *testing.T, m *chatbot.Message) {
			if len(m.RichText) != 3 || m.RichText[1].Type != "picture" || m.RichText[1].DownloadCode == "" {
				t.Errorf("rich text: %+v", m.RichText)
			}
		}},
		{"picture.json", chatbot.TypePicture, false, "", nil, func(t *testing.T, m *chatbot.Message) {
			if m.Picture == nil || m.Picture.DownloadCode != "dcPictureExample0001" || m.Picture.PictureDownloadCode != "pdcPictureExample0001" {
				t.Errorf("picture: %+v", m.Picture)
			}
		}},
		{"audio.json", chatbot.TypeAudio, false, "明天上午开会", nil, func(t *testing.T, m *chatbot.Message) {
			if m.Audio == nil || m.Audio.Duration.Duration() != 4*time.Second || m.Audio.DownloadCode != "dcAudioExample0001" {
				t.Errorf("audio: %+v", m.Audio)
			}
		}},
		{"video.json", chatbot.TypeVideo, false, "", nil, func(t *testing.T, m *chatbot.Message) {
			if m.Video == nil || m.Video.Duration.Duration() != 12*time.Second || m.Video.VideoType != "mp4" {
				t.Errorf("video: %+v", m.Video)
			}
		}},
		{"file.json", chatbot.TypeFile, false, "", nil, func(t *testing.T, m *chatbot.Message) {
			if m.File == nil || m.File.FileName != "2026年3月报销.xlsx" || m.File.DownloadCode != "dcFileExample0001" {
				t.Errorf("file: %+v", m.File)
			}
		}},
		{"unknown_type.json", "interactiveCard", true, "", nil, func(t *testing.T, m *chatbot.Message) {
			var c map[string]any
			if err := json.Unmarshal(m.Content, &c); err != nil || c["cardTemplateId"] != "StandardCard" {
				t.Errorf("unknown content kept raw: %s", m.Content)
			}
			if m.Text != nil || m.Picture != nil || m.RichText != nil {
				t.Errorf("an unknown type got typed content")
			}
			if m.SenderStaffID != "" || m.SenderID == "" {
				t.Errorf("external sender: %+v", m)
			}
		}},
		{"no_msg_id.json", chatbot.TypeText, true, "你好", nil, nil},
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	if len(files) != len(tests) {
		t.Errorf("%d payloads in testdata, %d checked", len(files), len(tests))
	}
	ids := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readTestdata(t, tt.file)
			m, err := chatbot.ParseMessage(raw)
			if err != nil {
				t.Fatal(err)
			}
			if m.MsgType != tt.msgtype || m.IsGroup() != tt.group || m.PlainText() != tt.text || !slices.Equal(m.Mentions(), tt.mentions) {
				t.Errorf("msgtype %q group %v text %q mentions %v", m.MsgType, m.IsGroup(), m.PlainText(), m.Mentions())
			}
			if !m.CreatedAt().Equal(created) || !m.SessionExpiresAt().Equal(expires) {
				t.Errorf("createAt %v, expiry %v", m.CreatedAt(), m.SessionExpiresAt())
			}
			if !strings.HasPrefix(m.SessionWebhook, "https://oapi.dingtalk.com/robot/sendBySession?session=") {
				t.Errorf("sessionWebhook %q", m.SessionWebhook)
			}
			if tt.check != nil {
				tt.check(t, m)
			}
			id := chatbot.EventID(m)
			if len(id) != len("bot-")+32 || !strings.HasPrefix(id, "bot-") {
				t.Errorf("EventID = %q", id)
			}
			if other, dup := ids[id]; dup {
				t.Errorf("EventID %s shared with %s", id, other)
			}
			ids[id] = tt.file
			// Round trip.
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			again, err := chatbot.ParseMessage(b)
			if err != nil {
				t.Fatalf("re-read: %v\n%s", err, b)
			}
			if !reflect.DeepEqual(normal(m), normal(again)) {
				t.Errorf("round trip differs:\n %+v\n %+v", m, again)
			}
			if chatbot.EventID(again) != id {
				t.Errorf("round trip changed the id")
			}
		})
	}
}

// normal clears the raw content, whose spacing a round trip may change.
func normal(m *chatbot.Message) chatbot.Message {
	c := *m
	c.Content = nil
	return c
}

// TestEventIDIdentity: a redelivery (same msgId, even re-serialised) has
// the message's id; without msgId, the id follows conversation, sender
// and time.
func TestEventIDIdentity(t *testing.T) {
	t.Parallel()
	a, _ := chatbot.ParseMessage(readTestdata(t, "text_group.json"))
	b := *a
	b.TextObject = &chatbot.Text{Content: "edited"}
	if chatbot.EventID(a) != chatbot.EventID(&b) {
		t.Error("the id depends on more than msgId")
	}
	c := *a
	c.MsgID = "msgOther=="
	if chatbot.EventID(a) == chatbot.EventID(&c) {
		t.Error("two msgIds share an id")
	}
	n, _ := chatbot.ParseMessage(readTestdata(t, "no_msg_id.json"))
	later := *n
	later.CreateAt += 1000
	if chatbot.EventID(n) == chatbot.EventID(&later) {
		t.Error("without msgId, two times share an id")
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"not JSON":               `{"msgtype":`,
		"an array":               `[1]`,
		"no msgtype":             `{"conversationId":"cid1"}`,
		"no conversation":        `{"msgtype":"text","text":{"content":"x"}}`,
		"text without text":      `{"msgtype":"text","conversationId":"cid1"}`,
		"picture without object": `{"msgtype":"picture","conversationId":"cid1","content":"x"}`,
		"bad createAt":           `{"msgtype":"text","conversationId":"cid1","text":{"content":"x"},"createAt":"yesterday"}`,
	} {
		_, err := chatbot.ParseMessage([]byte(in))
		if _, ok := errors.AsType[*chatbot.ParseError](err); !ok {
			t.Errorf("%s: err = %v, want a *ParseError", name, err)
		}
	}
}
