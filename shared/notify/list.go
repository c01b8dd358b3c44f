package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// NoticeSummary is one notice of a listing: whom it addresses and where
// its parts stand in the store, without asking DingTalk (Notice does).
type NoticeSummary struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	// Caller is the API key's name (or fingerprint) that sent it.
	Caller  string `json:"caller"`
	MsgType string `json:"msgtype"`
	// Title is the message's title or the start of its text, for a list.
	Title    string    `json:"title"`
	Users    int       `json:"users"`
	DeptIDs  []int64   `json:"dept_ids,omitempty"`
	ToAll    bool      `json:"to_all,omitempty"`
	Progress Progress  `json:"progress"`
	TaskIDs  []int64   `json:"task_ids"`
	Warnings []Warning `json:"warnings"`
}

// maxTitle is the longest Title of a NoticeSummary, in characters.
const maxTitle = 80

// RecentNotices lists the work notices the store still keeps (DefaultRetention)
// created at or after since, newest first, at most limit of them. It reads
// the whole notices table, so it is for an operator's page, not a hot path.
func (s *Service) RecentNotices(ctx context.Context, since time.Time, limit int) ([]NoticeSummary, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("notify: RecentNotices: limit %d must be positive", limit)
	}
	rows := map[string]noticeRow{}
	parts := map[string][]partRow{}
	for it, err := range store.All(ctx, s.st, NoticesTable, store.Range{}) {
		if err != nil {
			return nil, fmt.Errorf("notify: list notices: %w", err)
		}
		if id, _, isPart := strings.Cut(it.Key, "/"); isPart {
			var p partRow
			if err := json.Unmarshal(it.Value, &p); err != nil {
				return nil, fmt.Errorf("notify: %w: part %q: %w", record.ErrMalformed, it.Key, err)
			}
			parts[id] = append(parts[id], p)
			continue
		}
		var n noticeRow
		if err := json.Unmarshal(it.Value, &n); err != nil {
			return nil, fmt.Errorf("notify: %w: notice %q: %w", record.ErrMalformed, it.Key, err)
		}
		// The app robot's messages share the table; they are not notices.
		if !n.CreatedAt.Before(since) && n.Kind == "" {
			rows[n.ID] = n
		}
	}
	now := s.now()
	out := make([]NoticeSummary, 0, len(rows))
	for id, n := range rows {
		out = append(out, summarize(n, parts[id], now))
	}
	slices.SortFunc(out, func(a, b NoticeSummary) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(b.ID, a.ID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// summarize builds a notice's summary from its stored rows.
func summarize(n noticeRow, parts []partRow, now time.Time) NoticeSummary {
	sum := NoticeSummary{ID: n.ID, Status: noticeStatus(n, parts, now), CreatedAt: n.CreatedAt, Caller: n.Caller,
		Users: n.Users, DeptIDs: n.DeptIDs, ToAll: n.ToAll, TaskIDs: []int64{}, Warnings: slices.Clone(n.Warnings)}
	if sum.Warnings == nil {
		sum.Warnings = []Warning{}
	}
	sum.MsgType, sum.Title = msgHeadline(n.Msg)
	for _, p := range parts {
		state := p.effectiveState(now)
		sum.Progress.add(state)
		if state == PartSent {
			sum.TaskIDs = append(sum.TaskIDs, p.TaskID)
		}
	}
	return sum
}

// msgHeadline finds a message's type and a line to list it by: the title
// of the types that have one, else the start of its text.
func msgHeadline(msg json.RawMessage) (msgtype, title string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(msg, &m) != nil {
		return "", ""
	}
	_ = json.Unmarshal(m["msgtype"], &msgtype)
	var body map[string]json.RawMessage
	_ = json.Unmarshal(m[msgtype], &body)
	if msgtype == "oa" {
		// An OA message's headline is its head's text or its body's title.
		var oa struct {
			Head struct {
				Text string `json:"text"`
			} `json:"head"`
			Body struct {
				Title string `json:"title"`
			} `json:"body"`
		}
		_ = json.Unmarshal(m["oa"], &oa)
		return msgtype, clip(cmp.Or(oa.Body.Title, oa.Head.Text))
	}
	for _, k := range []string{"title", "content", "text", "markdown"} {
		var s string
		if json.Unmarshal(body[k], &s) == nil && strings.TrimSpace(s) != "" {
			return msgtype, clip(strings.Join(strings.Fields(s), " "))
		}
	}
	return msgtype, ""
}

// clip shortens s to maxTitle characters (not bytes: titles are often
// Chinese).
func clip(s string) string {
	r := []rune(s)
	if len(r) <= maxTitle {
		return s
	}
	return string(r[:maxTitle]) + "…"
}
