package chatbot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/directory"
)

// whoIsMaxMatches bounds the people one answer lists.
const whoIsMaxMatches = 5

// WhoIs is an example chat handler answering "谁是 …" / "who is …" from the
// directory mirror: each person @-mentioned in the message, else the
// words after the question taken as a userid or a name, gets a line with
// their name, title and departments. In a group it @-mentions the asker.
// Looking a name up reads the whole users table, which suits an example
// and a small organisation; match on userids or @-mentions at scale.
func WhoIs(mirror *directory.Reader) HandlerFunc {
	return func(ctx context.Context, m *Message, reply ReplyFunc) error {
		lines, err := whoIs(ctx, mirror, m)
		if err != nil {
			return err
		}
		text := strings.Join(lines, "\n\n")
		var at []string
		if m.IsGroup() && m.SenderStaffID != "" {
			at = append(at, m.SenderStaffID)
		}
		return reply(ctx, dingtalk.RobotMarkdown("谁是", text, at...))
	}
}

// whoIs builds the answer's lines.
func whoIs(ctx context.Context, mirror *directory.Reader, m *Message) ([]string, error) {
	targets := m.Mentions()
	if len(targets) == 0 {
		q := m.PlainText()
		for _, p := range []string{"谁是", "who is", "Who is", "whois"} {
			if rest, ok := strings.CutPrefix(q, p); ok {
				q = rest
				break
			}
		}
		q = strings.Trim(strings.TrimSpace(q), "?？ @")
		if q != "" {
			targets = []string{q}
		}
	}
	if len(targets) == 0 {
		return []string{"问我「谁是 张三」，或「谁是 @某人」：我从通讯录里查。"}, nil
	}
	var lines []string
	for _, t := range targets {
		users, err := find(ctx, mirror, t)
		if err != nil {
			return nil, err
		}
		if len(users) == 0 {
			lines = append(lines, fmt.Sprintf("通讯录里没有「%s」。", t))
			continue
		}
		for _, u := range users {
			lines = append(lines, describe(ctx, mirror, u))
		}
	}
	return lines, nil
}

// find looks t up as a userid, then as a name.
func find(ctx context.Context, mirror *directory.Reader, t string) ([]directory.User, error) {
	u, err := mirror.User(ctx, t)
	switch {
	case err == nil:
		return []directory.User{u}, nil
	case !errors.Is(err, directory.ErrNotFound):
		return nil, err
	}
	var out []directory.User
	for u, err := range mirror.Users(ctx) {
		if err != nil {
			return nil, err
		}
		if u.Name == t {
			out = append(out, u)
			if len(out) == whoIsMaxMatches {
				break
			}
		}
	}
	return out, nil
}

// describe is one person's line: name, title, departments.
func describe(ctx context.Context, mirror *directory.Reader, u directory.User) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**", u.Name)
	if u.Title != "" {
		fmt.Fprintf(&b, " · %s", u.Title)
	}
	var depts []string
	for _, id := range u.DeptIDs {
		if d, err := mirror.Department(ctx, id); err == nil {
			depts = append(depts, d.Name)
		}
	}
	if len(depts) > 0 {
		fmt.Fprintf(&b, "  \n部门：%s", strings.Join(depts, "、"))
	}
	fmt.Fprintf(&b, "  \nuserid：%s", u.UserID)
	return b.String()
}
