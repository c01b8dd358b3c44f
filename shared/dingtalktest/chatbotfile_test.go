package dingtalktest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
)

// TestChatbotGroupReadStatus: a group send's readers come back through
// the client over as many pages as DingTalk needs (200 readers a page),
// the state follows a recall, and a key of the wrong kind, group or age is
// refused with DingTalk's codes.
func TestChatbotGroupReadStatus(t *testing.T) {
	s, c, clk := setup(t, nil)
	ctx := context.Background()
	code := s.RobotCode()
	members := make([]string, 450)
	for i := range members {
		members[i] = fmt.Sprintf("member%03d", i)
	}
	cid := s.AddChatGroup("全员群", members...)
	key, err := c.Chatbot.SendToGroup(ctx, code, cid, dingtalk.BotTextMessage("周五团建"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Chatbot.GroupReadStatus(ctx, code, cid, key)
	if err != nil {
		t.Fatal(err)
	}
	if st.SendStatus != dingtalk.BotSendSuccess || len(st.ReadUserIDs) != 0 || st.Calls != 1 {
		t.Errorf("unread: %+v", st)
	}
	readers := members[:401] // three pages: 200, 200, 1
	for _, id := range readers {
		s.MarkChatbotRead(key, id)
	}
	s.ResetCalls()
	st, err = c.Chatbot.GroupReadStatus(ctx, code, cid, key)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(st.ReadUserIDs, readers) || st.Calls != 3 {
		t.Errorf("401 readers: got %d readers in %d calls", len(st.ReadUserIDs), st.Calls)
	}
	calls := s.Calls()
	if len(calls) != 3 || !strings.Contains(string(calls[0].Body), `"maxResults":200`) || !strings.Contains(string(calls[1].Body), `"nextToken":"200"`) {
		t.Errorf("calls = %d, first body %s", len(calls), calls[0].Body)
	}

	if _, err := c.Chatbot.RecallGroup(ctx, code, cid, []string{key}); err != nil {
		t.Fatal(err)
	}
	if st, err = c.Chatbot.GroupReadStatus(ctx, code, cid, key); err != nil || st.SendStatus != dingtalk.BotSendRecalled {
		t.Errorf("after recall: %+v, %v", st, err)
	}

	other := s.AddChatGroup("别的群", members[0])
	oto, err := c.Chatbot.SendToUsers(ctx, code, []string{"nobody"}, dingtalk.BotTextMessage("x"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ cid, key, want string }{
		"another group's key": {other, key, "invalid.processQueryKey"},
		"a one-to-one key":    {cid, oto.ProcessQueryKey, "invalid.processQueryKey"},
		"an unknown group":    {"cidnosuchgroup", key, "invalid.openConversationId"},
	} {
		_, err := c.Chatbot.GroupReadStatus(ctx, code, tc.cid, tc.key)
		if e, ok := errors.AsType[*dingtalk.Error](err); !ok || e.Code != tc.want || !dingtalk.IsInvalidArgument(err) {
			t.Errorf("%s: err = %v, want %s", name, err, tc.want)
		}
	}
	clk.Advance(25 * time.Hour)
	_, err = c.Chatbot.GroupReadStatus(ctx, code, cid, key)
	if e, ok := errors.AsType[*dingtalk.Error](err); !ok || e.Code != "processQueryKey.expireTime" {
		t.Errorf("after 25 h: err = %v", err)
	}
	// Checked before any call.
	_, err = c.Chatbot.GroupReadStatus(ctx, code, "", key)
	if ve, ok := errors.AsType[*dingtalk.ValidationError](err); !ok || ve.Field != "openConversationId" {
		t.Errorf("no group: err = %v", err)
	}
}

// TestChatbotDownload: a received file's downloadCode is traded for a
// signed URL on the fake, which serves the file there until the URL
// expires; an expired or unknown code, or another robot's, is refused
// with DingTalk's codes, and no error shows the URL's signature.
func TestChatbotDownload(t *testing.T) {
	s, c, clk := setup(t, nil)
	ctx := context.Background()
	robot := s.RobotCode()
	data := []byte("%PDF-1.7 季度报告")
	code := s.AddChatbotFile(dingtalktest.ChatFile{Data: data, ContentType: "application/pdf"})

	u, err := c.Chatbot.DownloadURL(ctx, robot, code)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, s.URL+"/") || !strings.Contains(u, ".file?") || !strings.Contains(u, "Signature=") {
		t.Errorf("downloadUrl = %s", u)
	}
	f, err := c.Chatbot.Download(ctx, robot, code)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f.Body)
	f.Body.Close()
	if err != nil || !bytes.Equal(got, data) || f.ContentType != "application/pdf" || f.Size != int64(len(data)) || !strings.HasSuffix(f.Name, ".file") {
		t.Errorf("Download = %q (%s, %d bytes, %s), %v", got, f.ContentType, f.Size, f.Name, err)
	}

	// A failed GET of the file is a *dingtalk.Error that never shows the
	// URL's query (its signature).
	for _, kind := range []dingtalktest.FaultKind{dingtalktest.FaultBadGateway, dingtalktest.FaultDrop} {
		// Every time: Go's transport resends a GET once on a dropped reused
		// connection.
		s.InjectFault("robot-message-files/any", dingtalktest.Fault{Kind: kind})
		_, err := c.Chatbot.Download(ctx, robot, code)
		s.ClearFaults()
		e, ok := errors.AsType[*dingtalk.Error](err)
		if !ok || !dingtalk.IsTransient(err) || strings.Contains(err.Error(), "Signature") || strings.Contains(e.URL, "?") {
			t.Errorf("fault %v: err = %v", kind, err)
		}
	}

	// The URL expires before the code does; a fresh one works again.
	clk.Advance(dingtalktest.DownloadURLTTL)
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired URL: HTTP %d", resp.StatusCode)
	}
	if _, err := c.Chatbot.DownloadURL(ctx, robot, code); err != nil {
		t.Errorf("code within its hour: %v", err)
	}

	_, err = c.Chatbot.DownloadURL(ctx, "dingotherrobot", code)
	if e, ok := errors.AsType[*dingtalk.Error](err); !ok || e.Code != "invalidParameter.robotCode.auth" {
		t.Errorf("another robot: err = %v", err)
	}
	for name, dl := range map[string]string{"unknown": "nosuchcode", "expired": code} {
		if name == "expired" {
			clk.Advance(dingtalktest.DownloadCodeTTL)
		}
		_, err := c.Chatbot.Download(ctx, robot, dl)
		e, ok := errors.AsType[*dingtalk.Error](err)
		if !ok || e.Code != dingtalk.CodeDownloadCodeInvalid || e.HTTPStatus != http.StatusBadRequest || !dingtalk.IsDownloadCodeGone(err) {
			t.Errorf("%s code: err = %v", name, err)
		}
	}
	if _, err := c.Chatbot.DownloadURL(ctx, robot, ""); !errors.As(err, new(*dingtalk.ValidationError)) {
		t.Errorf("empty code: err = %v, want a validation error before any call", err)
	}
}
