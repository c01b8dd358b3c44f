package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// CodeDownloadCodeInvalid is DingTalk's answer (HTTP 400) to a download
// code that is wrong or has expired: the file can no longer be had
// through it.
const CodeDownloadCodeInvalid = "invalidParameter.robotCode.downloadCode"

// IsDownloadCodeGone reports whether DingTalk refused a download because
// the message's download code is wrong or expired
// (CodeDownloadCodeInvalid). Asking again cannot succeed.
func IsDownloadCodeGone(err error) bool {
	e, ok := asError(err)
	return ok && e.Code == CodeDownloadCodeInvalid
}

// DownloadURL trades the downloadCode of a message the robot robotCode
// received (a picture, voice, video, file or rich-text picture) for a
// temporary URL of the file. robotCode must be the robot that received
// the message. The URL is signed and works for a while only: it is a
// credential, never log it. A wrong or expired code fails with an *Error
// whose Code is CodeDownloadCodeInvalid (IsDownloadCodeGone).
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/download-the-file-content-of-the-robot-receiving-message
func (s *ChatbotService) DownloadURL(ctx context.Context, robotCode, downloadCode string) (string, error) {
	if err := checkRobotCode(robotCode); err != nil {
		return "", fmt.Errorf("dingtalk: robot file download: %w", err)
	}
	if downloadCode == "" {
		return "", fmt.Errorf("dingtalk: robot file download: %w", required("downloadCode", "the message's downloadCode"))
	}
	var out struct {
		DownloadURL string `json:"downloadUrl"`
	}
	body := map[string]string{"downloadCode": downloadCode, "robotCode": robotCode}
	if err := s.client.api(ctx, epBotDownload, nil, body, &out); err != nil {
		return "", err
	}
	if out.DownloadURL == "" {
		return "", &Error{API: epBotDownload.api, Method: epBotDownload.method, HTTPStatus: http.StatusOK,
			Err: errors.New("the answer has no downloadUrl")}
	}
	return out.DownloadURL, nil
}

// MessageFile is a file of a received message, being downloaded.
type MessageFile struct {
	// Name is the file's name in the download URL. DingTalk names many
	// files "….file"; the real extension is the message's to tell (a file
	// message's fileName, a video's videoType).
	Name string
	// ContentType is the type the file is served with.
	ContentType string
	// Size is the length in bytes, -1 when not known in advance.
	Size int64
	// Body is the content; close it.
	Body io.ReadCloser
}

// Download fetches the file behind the downloadCode of a message the robot
// robotCode received: DownloadURL, then a GET of that URL (which carries
// no access token: the URL is signed). The caller reads and closes Body;
// ctx bounds the whole download, the client's timeout does not (a video
// may take longer). A refused GET is an *Error with the HTTP status; the
// URL in errors has its query (the signature) removed.
func (s *ChatbotService) Download(ctx context.Context, robotCode, downloadCode string) (*MessageFile, error) {
	raw, err := s.DownloadURL(ctx, robotCode, downloadCode)
	if err != nil {
		return nil, err
	}
	return s.client.getFile(ctx, raw)
}

// fileAPI names the GET of a download URL in errors.
const fileAPI = "robot message file"

// getFile GETs a temporary download URL.
func (c *Client) getFile(ctx context.Context, raw string) (*MessageFile, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &Error{API: fileAPI, Method: http.MethodGet, Err: errors.New("DingTalk's downloadUrl is not an http(s) URL")}
	}
	shown := withoutQuery(u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &Error{API: fileAPI, Method: http.MethodGet, URL: shown, Err: err}
	}
	// The client's timeout bounds the whole body read; a large file is
	// bounded by ctx instead.
	hc := *c.httpClient
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			cp := *ue
			cp.URL = shown
			err = &cp
		}
		return nil, &Error{API: fileAPI, Method: http.MethodGet, URL: shown, Err: err, transport: true}
	}
	if resp.StatusCode/100 != 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &Error{API: fileAPI, Method: http.MethodGet, URL: shown, HTTPStatus: resp.StatusCode,
			ErrMsg: "the download URL was refused (it may have expired; ask for a new one)"}
	}
	return &MessageFile{Name: path.Base(u.Path), ContentType: resp.Header.Get("Content-Type"), Size: resp.ContentLength, Body: resp.Body}, nil
}

// withoutQuery renders u without its query and fragment, where a signed
// URL keeps its signature.
func withoutQuery(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return strings.TrimSuffix(v.String(), "?")
}
