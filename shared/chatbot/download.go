package chatbot

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"path"
	"strings"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/events"
)

// Downloader fetches the files of received messages by their download
// codes; *dingtalk.ChatbotService is one. Replies hands it to the chat
// handlers' messages when its Sender is one too.
type Downloader interface {
	DownloadURL(ctx context.Context, robotCode, downloadCode string) (string, error)
	Download(ctx context.Context, robotCode, downloadCode string) (*dingtalk.MessageFile, error)
}

var _ Downloader = (*dingtalk.ChatbotService)(nil)

// ErrNoDownloader: the message was not given to a chat handler by an event
// log built with Replies and a Sender that downloads (the app's
// *dingtalk.ChatbotService does), so it cannot fetch its files.
var ErrNoDownloader = errors.New("chatbot: no file downloader (build the event log with chatbot.Replies(client.Chatbot, …))")

// ErrNotThisMessage: the download code is not one of the message's.
var ErrNotThisMessage = errors.New("chatbot: the download code is not one of the message's (DownloadCodes)")

// DownloadCodes returns the download codes of the message's files, in
// order: a picture's, voice's, video's or file's, or a rich text's
// pictures; none for the other types.
func (m *Message) DownloadCodes() []string {
	var out []string
	add := func(code, alt string) {
		if code == "" {
			code = alt
		}
		if code != "" {
			out = append(out, code)
		}
	}
	switch {
	case m.Picture != nil:
		add(m.Picture.DownloadCode, m.Picture.PictureDownloadCode)
	case m.Audio != nil:
		add(m.Audio.DownloadCode, "")
	case m.Video != nil:
		add(m.Video.DownloadCode, "")
	case m.File != nil:
		add(m.File.DownloadCode, "")
	}
	for _, it := range m.RichText {
		add(it.DownloadCode, it.PictureDownloadCode)
	}
	return out
}

// DownloadURL returns a temporary URL of the message's file downloadCode
// (one of DownloadCodes), asked of DingTalk as the robot that received
// the message. The URL is signed: a credential, never log it. A code
// DingTalk no longer accepts (it expires) fails permanently, so the
// handler's run is not retried for it: errors.As finds the
// *dingtalk.Error, whose Code is dingtalk.CodeDownloadCodeInvalid.
func (m *Message) DownloadURL(ctx context.Context, downloadCode string) (string, error) {
	if err := m.canDownload(downloadCode); err != nil {
		return "", err
	}
	u, err := m.files.DownloadURL(ctx, m.RobotCode, downloadCode)
	if err != nil {
		return "", downloadErr(err)
	}
	return u, nil
}

// Download fetches the message's file downloadCode (one of
// DownloadCodes). The caller reads and closes its Body. Name is the file's
// real name where the message tells it (a file message's fileName; a
// video's type as extension; else the extension of the type it is served
// as), instead of DingTalk's "….file". Errors are DownloadURL's, or the
// download's *dingtalk.Error.
func (m *Message) Download(ctx context.Context, downloadCode string) (*dingtalk.MessageFile, error) {
	if err := m.canDownload(downloadCode); err != nil {
		return nil, err
	}
	f, err := m.files.Download(ctx, m.RobotCode, downloadCode)
	if err != nil {
		return nil, downloadErr(err)
	}
	f.Name = m.fileName(downloadCode, f)
	return f, nil
}

func (m *Message) canDownload(code string) error {
	switch {
	case m.files == nil:
		return ErrNoDownloader
	case code == "" || !containsCode(m.DownloadCodes(), code):
		return events.Permanent(ErrNotThisMessage)
	case m.RobotCode == "":
		return events.Permanent(errors.New("chatbot: the message has no robotCode, which its files are downloaded as"))
	}
	return nil
}

func containsCode(codes []string, code string) bool {
	for _, c := range codes {
		if c == code {
			return true
		}
	}
	return false
}

// downloadErr marks a refusal no retry can cure (a wrong or expired code,
// a robot that may not download it) as permanent; a passing failure stays
// retryable.
func downloadErr(err error) error {
	if dingtalk.IsInvalidArgument(err) {
		return events.Permanent(fmt.Errorf("chatbot: download: %w", err))
	}
	return fmt.Errorf("chatbot: download: %w", err)
}

// knownExt are extensions for the types DingTalk's files come as, where
// mime's own choice is not the usual one.
var knownExt = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
	"audio/amr": ".amr", "audio/ogg": ".ogg", "video/mp4": ".mp4", "application/pdf": ".pdf",
}

// fileName is the downloaded file's name with its real extension.
func (m *Message) fileName(code string, f *dingtalk.MessageFile) string {
	name := f.Name
	base := strings.TrimSuffix(name, path.Ext(name))
	switch {
	case m.File != nil && m.File.DownloadCode == code && m.File.FileName != "":
		return path.Base(m.File.FileName)
	case m.Video != nil && m.Video.DownloadCode == code && m.Video.VideoType != "":
		return base + "." + strings.TrimPrefix(m.Video.VideoType, ".")
	case path.Ext(name) != "" && path.Ext(name) != ".file":
		return name
	}
	ct, _, err := mime.ParseMediaType(f.ContentType)
	if err != nil {
		return name
	}
	if ext, ok := knownExt[ct]; ok {
		return base + ext
	}
	if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
		return base + exts[0]
	}
	return name
}
