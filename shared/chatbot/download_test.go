package chatbot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dingfn/dingfn/shared/chatbot"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store"
)

// got is what the download handler fetched, or its error.
type got struct {
	name string
	data []byte
	err  error
}

// downloader registers a handler that downloads each of a message's files
// and replies with their names and sizes; what it fetched goes to out.
func downloader(out chan<- got) func(*events.Mux, store.Store) {
	return func(m *events.Mux, _ store.Store) {
		chatbot.HandleFunc(m, "files", func(ctx context.Context, msg *chatbot.Message, reply chatbot.ReplyFunc) error {
			var lines []string
			for _, code := range msg.DownloadCodes() {
				f, err := msg.Download(ctx, code)
				if err != nil {
					out <- got{err: err}
					return err
				}
				data, err := io.ReadAll(f.Body)
				f.Body.Close()
				if err != nil {
					return err
				}
				out <- got{name: f.Name, data: data}
				lines = append(lines, fmt.Sprintf("%s %d", f.Name, len(data)))
			}
			return reply(ctx, dingtalk.RobotText(fmt.Sprint("收到 ", lines)))
		})
	}
}

// TestHandlerDownloadsFiles: a handler given a picture (in a group), a
// file (one to one, where DingTalk sends files) or a rich text's picture
// downloads it through the fake, named with its real extension.
func TestHandlerDownloadsFiles(t *testing.T) {
	t.Parallel()
	out := make(chan got, 8)
	e := newEnv(t, downloader(out), envOption{})
	png := []byte("\x89PNG\r\n\x1a\n 截图")
	pdf := []byte("%PDF-1.7 季度报告")

	pic := e.fake.AddChatbotFile(dingtalktest.ChatFile{Data: png, ContentType: "image/png"})
	d := e.post(dingtalktest.ChatMessage{MsgType: chatbot.TypePicture, Content: map[string]any{"downloadCode": pic}})
	g := <-out
	if g.err != nil || !bytes.Equal(g.data, png) || !strings.HasSuffix(g.name, ".png") {
		t.Errorf("picture: %q %q %v", g.name, g.data, g.err)
	}
	if want := fmt.Sprint("收到 ", []string{fmt.Sprintf("%s %d", g.name, len(png))}); replyText(t, d.Reply) != want {
		t.Errorf("reply %s, want %q", d.Reply, want)
	}

	file := e.fake.AddChatbotFile(dingtalktest.ChatFile{Data: pdf})
	_, err := e.fake.PostChatbotMessage(context.Background(), e.url, dingtalktest.ChatMessage{From: e.from, MsgType: chatbot.TypeFile,
		Content: map[string]any{"downloadCode": file, "fileName": "2026Q1 季度报告.pdf", "spaceId": "1", "fileId": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if g := <-out; g.err != nil || !bytes.Equal(g.data, pdf) || g.name != "2026Q1 季度报告.pdf" {
		t.Errorf("file: %q %q %v", g.name, g.data, g.err)
	}

	inline := e.fake.AddChatbotFile(dingtalktest.ChatFile{Data: png, ContentType: "image/jpeg"})
	e.post(dingtalktest.ChatMessage{MsgType: chatbot.TypeRichText, Content: map[string]any{"richText": []any{
		map[string]any{"text": "看这张图"}, map[string]any{"type": "picture", "downloadCode": inline}}}})
	if g := <-out; g.err != nil || !strings.HasSuffix(g.name, ".jpg") {
		t.Errorf("rich text picture: %q %v", g.name, g.err)
	}
}

// TestExpiredDownloadCode: a download code DingTalk no longer accepts
// gives the handler DingTalk's typed error, and its run fails for good
// (retrying cannot bring the file back).
func TestExpiredDownloadCode(t *testing.T) {
	t.Parallel()
	out := make(chan got, 1)
	e := newEnv(t, downloader(out), envOption{})
	code := e.fake.AddChatbotFile(dingtalktest.ChatFile{Data: []byte("x")})
	e.clk.Advance(dingtalktest.DownloadCodeTTL)
	d := e.post(dingtalktest.ChatMessage{MsgType: chatbot.TypePicture, Content: map[string]any{"downloadCode": code}})
	err := (<-out).err
	var de *dingtalk.Error
	if !errors.As(err, &de) || de.Code != dingtalk.CodeDownloadCodeInvalid || de.HTTPStatus != http.StatusBadRequest || !errors.Is(err, events.ErrPermanent) {
		t.Fatalf("err = %v, want DingTalk's %s, permanent", err, dingtalk.CodeDownloadCodeInvalid)
	}
	if rep := e.drain(); rep.Done != 0 || len(out) != 0 {
		t.Errorf("drain = %+v, %d runs: the run was retried", rep, len(out))
	}
	if res := e.entry(d.Payload).Results[chatbot.RouteName("files")]; res.Status != events.StatusDead {
		t.Errorf("result = %+v, want dead", res)
	}
}

// TestDownloadOutsideHandler: a message parsed by hand has no downloader,
// and a handler may fetch only its own message's files.
func TestDownloadOutsideHandler(t *testing.T) {
	t.Parallel()
	m, err := chatbot.ParseMessage([]byte(`{"msgtype":"picture","conversationId":"cid1","robotCode":"dingbot","content":{"downloadCode":"dlA"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Download(context.Background(), "dlA"); !errors.Is(err, chatbot.ErrNoDownloader) {
		t.Errorf("parsed by hand: err = %v", err)
	}
	out := make(chan got, 1)
	e := newEnv(t, func(mux *events.Mux, _ store.Store) {
		chatbot.HandleFunc(mux, "other", func(ctx context.Context, msg *chatbot.Message, _ chatbot.ReplyFunc) error {
			_, err := msg.DownloadURL(ctx, "dlSomeoneElses")
			out <- got{err: err}
			return nil
		})
	}, envOption{})
	e.post(dingtalktest.ChatMessage{Text: "hi"})
	if err := (<-out).err; !errors.Is(err, chatbot.ErrNotThisMessage) {
		t.Errorf("another code: err = %v", err)
	}
	if n := len(e.fake.Calls()); n != 0 {
		t.Errorf("%d calls reached DingTalk", n)
	}
}
