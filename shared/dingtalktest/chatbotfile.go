package dingtalktest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChatFile is a file someone sends the app robot (a picture, voice,
// video or file message, or a rich text's picture), for AddChatbotFile.
type ChatFile struct {
	// Data is the content; ContentType what it is served as (default
	// application/octet-stream).
	Data        []byte
	ContentType string
	// Ext is the extension of the name the download URL ends in; empty is
	// ".file", as DingTalk names most downloads whatever their type.
	Ext string
}

type chatFile struct {
	file    ChatFile
	robot   string
	expires time.Time
}

type chatURL struct {
	file    *chatFile
	expires time.Time
}

// chatFilePrefix is where the fake serves downloads: its own host, as
// DingTalk serves them from a storage host of its own.
const chatFilePrefix = "robot-message-files/"

// AddChatbotFile stores f as a file received by the app robot and returns
// its downloadCode, to put in a message's content (ChatMessage.Content,
// e.g. {"downloadCode": code, "fileName": "报告.pdf"}). The code works for
// DownloadCodeTTL.
func (s *Server) AddChatbotFile(f ChatFile) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.chatbot
	c.n++
	code := "dl" + opaqueID("download", c.n) + "+" + opaqueID("download2", c.n)[:16] + "=="
	f.Data = slices.Clone(f.Data)
	c.files[code] = &chatFile{file: f, robot: c.code, expires: s.now().Add(DownloadCodeTTL)}
	return code
}

// POST v1.0/robot/messageFiles/download {downloadCode, robotCode}: a
// temporary URL on the fake for the file. DingTalk answers an empty code
// with the robotCode's "empty" code, as its docs list.
func (s *Server) chatbotDownload(rq *request) reply {
	var in struct {
		DownloadCode string `json:"downloadCode"`
		RobotCode    string `json:"robotCode"`
	}
	if rep, bad := decodeNewBody(rq, &in); bad {
		return rep
	}
	f := s.chatbot.files[in.DownloadCode]
	switch {
	case in.RobotCode == "":
		return newFail(http.StatusBadRequest, "invalidParameter.robotCode.empty", "机器人robotCode为空")
	case in.DownloadCode == "":
		return newFail(http.StatusBadRequest, "invalidParameter.robotCode.empty", "机器人downloadCode为空")
	case f == nil || !rq.now.Before(f.expires):
		return newFail(http.StatusBadRequest, "invalidParameter.robotCode.downloadCode", "下载码有误或者已经过期")
	case in.RobotCode != f.robot:
		return newFail(http.StatusBadRequest, "invalidParameter.robotCode.auth", "此downloadCode和机器人robotCode不匹配")
	}
	s.chatbot.n++
	ext := f.file.Ext
	if ext == "" {
		ext = ".file"
	}
	name := opaqueID("file", s.chatbot.n) + ext
	exp := rq.now.Add(DownloadURLTTL)
	s.chatbot.urls[name] = &chatURL{file: f, expires: exp}
	u := s.URL + "/" + chatFilePrefix + name + "?Expires=" + strconv.FormatInt(exp.Unix(), 10) +
		"&Signature=" + opaqueID("signature", s.chatbot.n)[:28]
	return newOK(map[string]any{"downloadUrl": u})
}

// GET robot-message-files/{name}?Expires=&Signature=: the file, until
// its URL expires; then 403 as a storage service answers.
func (s *Server) chatbotFile(rq *request) reply {
	name := strings.TrimPrefix(rq.r.URL.Path, "/"+chatFilePrefix)
	u := s.chatbot.urls[name]
	switch {
	case u == nil:
		return reply{status: http.StatusNotFound, raw: []byte("<Error><Code>NoSuchKey</Code></Error>"), ctype: "application/xml"}
	case !rq.now.Before(u.expires):
		return reply{status: http.StatusForbidden, raw: []byte("<Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>"), ctype: "application/xml"}
	}
	ct := u.file.file.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	data := u.file.file.Data
	if data == nil {
		data = []byte{}
	}
	return reply{status: http.StatusOK, raw: slices.Clone(data), ctype: ct}
}

// POST v1.0/robot/groupMessages/query {openConversationId, robotCode,
// processQueryKey, maxResults ≤ 200, nextToken}: a group send's state and
// a page of the userids that read it (DingTalk names no unread ones).
func (s *Server) chatbotGroupRead(rq *request) reply {
	var in struct {
		OpenConversationID string          `json:"openConversationId"`
		RobotCode          string          `json:"robotCode"`
		ProcessQueryKey    string          `json:"processQueryKey"`
		MaxResults         json.RawMessage `json:"maxResults"`
		NextToken          string          `json:"nextToken"`
	}
	if rep, bad := decodeNewBody(rq, &in); bad {
		return rep
	}
	size := chatbotReadPage
	if len(in.MaxResults) > 0 && string(in.MaxResults) != "null" {
		n, err := strconv.Atoi(strings.Trim(string(in.MaxResults), `"`))
		if err != nil || n < 1 || n > chatbotReadPage {
			return newFail(http.StatusBadRequest, "invalidParameter.pageSize.invalid", "无效的maxResults")
		}
		size = n
	}
	offset := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return newFail(http.StatusBadRequest, "invalidParameter.cursor.invalid", "无效的nextToken")
		}
		offset = n
	}
	m := s.chatbot.sends[in.ProcessQueryKey]
	switch {
	case in.RobotCode == "":
		return newFail(http.StatusBadRequest, "invalidParameter.robotCode.missing", "缺少robotCode")
	case in.RobotCode != s.chatbot.code:
		return newFail(http.StatusBadRequest, "invalidParameter.robotCode.notExsit", "机器人不存在")
	case in.ProcessQueryKey == "":
		return newFail(http.StatusBadRequest, "invalidParameter.processQueryKey.missing", "缺少processQueryKey")
	case in.OpenConversationID != "" && s.chatbot.groups[in.OpenConversationID] == nil:
		return newFail(http.StatusBadRequest, "invalid.openConversationId", "无效的openConversationId")
	case m == nil || m.ConversationID == "" || (in.OpenConversationID != "" && m.ConversationID != in.OpenConversationID):
		return newFail(http.StatusBadRequest, "invalid.processQueryKey", "无效的processQueryKey")
	case rq.now.Sub(m.Time) > chatbotKeyLifetime:
		return newFail(http.StatusBadRequest, "processQueryKey.expireTime", "processQueryKey还未生成消息查询数据或已过期")
	}
	status := "SUCCESS"
	if m.Recalled {
		status = "RECALLED"
	}
	read := m.ReadBy
	lo, hi := min(offset, len(read)), min(offset+size, len(read))
	more := hi < len(read)
	next := ""
	if more {
		next = strconv.Itoa(hi)
	}
	return newOK(map[string]any{"sendStatus": status, "readUserIds": slices.Clone(read[lo:hi]), "nextToken": next, "hasMore": more})
}
