package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
)

// CallbackService manages the HTTP event callback registered through the
// API (register_call_back). DingTalk marks registration as historical and
// prefers console subscription or Stream mode, but it still works, and
// fetching failed pushes is current.
type CallbackService service

var (
	epCbRegister = oapiEP(http.MethodPost, "/call_back/register_call_back", false)
	epCbGet      = oapiEP(http.MethodGet, "/call_back/get_call_back", true)
	epCbUpdate   = oapiEP(http.MethodPost, "/call_back/update_call_back", false)
	epCbDelete   = oapiEP(http.MethodGet, "/call_back/delete_call_back", false)
	// Fetching failed results hands them over; a second fetch after a lost
	// reply would not return the same batch, so it is not resent.
	epCbFailed = oapiEP(http.MethodGet, "/call_back/get_call_back_failed_result", false)
)

// CallbackConfig is a callback registration. Token and AESKey are secrets:
// String and LogValue leave them out.
type CallbackConfig struct {
	Tags   []string `json:"call_back_tag"`
	Token  string   `json:"token"`
	AESKey string   `json:"aes_key"`
	URL    string   `json:"url"`
}

// String describes the registration without its token and AES key.
func (c CallbackConfig) String() string {
	return fmt.Sprintf("dingtalk.CallbackConfig{URL:%q Tags:%v Token:REDACTED AESKey:REDACTED}", c.URL, c.Tags)
}

// GoString describes the registration without its token and AES key.
func (c CallbackConfig) GoString() string { return c.String() }

// LogValue describes the registration without its token and AES key.
func (c CallbackConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", c.URL), slog.Any("tags", c.Tags))
}

func (c *CallbackConfig) validate() error {
	switch {
	case c == nil:
		return errors.New("nil config")
	case len(c.Tags) == 0:
		return errors.New("no call_back_tag")
	case c.URL == "":
		return errors.New("no url")
	case c.Token == "":
		return errors.New("no token")
	case len(c.AESKey) != 43:
		return fmt.Errorf("aes_key must be 43 characters, got %d", len(c.AESKey))
	}
	for _, r := range c.AESKey {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return errors.New("aes_key must be alphanumeric")
		}
	}
	return nil
}

// Register registers the callback URL; DingTalk first posts a check_url
// event to it, which must be answered within 1500 ms.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/register-callback-events
func (s *CallbackService) Register(ctx context.Context, cfg *CallbackConfig) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("dingtalk: callback register: %w", err)
	}
	return s.client.oapi(ctx, epCbRegister, nil, cfg, nil)
}

// Get returns the registered callback.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/query-subscribed-events
func (s *CallbackService) Get(ctx context.Context) (*CallbackConfig, error) {
	var out CallbackConfig
	if err := s.client.oapi(ctx, epCbGet, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update replaces the registered callback; all four fields are required.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/update-event-interface
func (s *CallbackService) Update(ctx context.Context, cfg *CallbackConfig) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("dingtalk: callback update: %w", err)
	}
	return s.client.oapi(ctx, epCbUpdate, nil, cfg, nil)
}

// Delete removes the registered callback.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/delete-an-event-callback-interface
func (s *CallbackService) Delete(ctx context.Context) error {
	return s.client.oapi(ctx, epCbDelete, nil, nil, nil)
}

// FailedEvent is an event DingTalk could not push. Data is the event's
// payload (the object under the key named by Tag): {"userid":[…]} for
// contact tags, {"bpmsCallBackData":{…}} for approvals, and so on.
type FailedEvent struct {
	Tag       string
	EventTime int64 // ms since the epoch
	Data      json.RawMessage
}

// UnmarshalJSON reads {"call_back_tag":"t","event_time":1,"t":{…}}.
func (f *FailedEvent) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	var tag string
	if err := json.Unmarshal(m["call_back_tag"], &tag); err != nil {
		return fmt.Errorf("failed event call_back_tag: %w", err)
	}
	var t flexInt
	if raw, ok := m["event_time"]; ok {
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Errorf("failed event event_time: %w", err)
		}
	}
	*f = FailedEvent{Tag: tag, EventTime: int64(t), Data: m[tag]}
	return nil
}

// FailedResults is one batch of failed pushes (at most 200).
type FailedResults struct {
	HasMore    bool          `json:"has_more"`
	FailedList []FailedEvent `json:"failed_list"`
}

// FailedResults fetches the next batch of events DingTalk failed to push
// after its retries (+10 s, +30 s). Fetch within minutes and repeat while
// HasMore.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtain-the-event-list-of-failed-push-messages
func (s *CallbackService) FailedResults(ctx context.Context) (*FailedResults, error) {
	var out FailedResults
	if err := s.client.oapi(ctx, epCbFailed, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllFailedResults yields failed pushes batch by batch while DingTalk says
// it has more.
func (s *CallbackService) AllFailedResults(ctx context.Context) iter.Seq2[FailedEvent, error] {
	// Each call returns the next batch, so there is no cursor to carry.
	return pages(struct{}{}, func(struct{}) ([]FailedEvent, struct{}, bool, error) {
		r, err := s.FailedResults(ctx)
		if err != nil {
			return nil, struct{}{}, false, err
		}
		return r.FailedList, struct{}{}, r.HasMore && len(r.FailedList) > 0, nil
	})
}
