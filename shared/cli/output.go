package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// output writes a command's result: tables and short lines for a person,
// one JSON document with --json.
type output struct {
	w io.Writer
	// json reports whether --json was given (read when a command runs,
	// after flag parsing).
	json     func() bool
	terminal bool
	loc      *time.Location
}

// emit writes v as JSON with --json, and calls human otherwise.
func (o *output) emit(v any, human func() error) error {
	if o.json() {
		return writeJSON(o.w, v)
	}
	return human()
}

// writeJSON writes v indented, without HTML escaping (messages contain <
// and & as DingTalk sent them).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printf writes a line of human output.
func (o *output) printf(format string, a ...any) {
	fmt.Fprintf(o.w, format, a...)
}

// maxCell bounds a cell on a terminal, so one long JSON payload does not
// wrap every row; --json has the whole value.
const maxCell = 72

// table writes rows under headers, columns aligned by display width (a
// Chinese name is two columns per character), without borders.
func (o *output) table(headers []string, rows [][]string) {
	t := table.NewWriter()
	t.SetStyle(plainStyle)
	h := make(table.Row, len(headers))
	for i, s := range headers {
		h[i] = s
	}
	t.AppendHeader(h)
	for _, r := range rows {
		row := make(table.Row, len(r))
		for i, s := range r {
			if o.terminal {
				s = shorten(s, maxCell)
			}
			row[i] = s
		}
		t.AppendRow(row)
	}
	t.SuppressTrailingSpaces()
	fmt.Fprintln(o.w, t.Render())
}

// fields writes name/value pairs, one per line, names aligned.
func (o *output) fields(pairs [][2]string) {
	t := table.NewWriter()
	t.SetStyle(plainStyle)
	for _, p := range pairs {
		t.AppendRow(table.Row{p[0] + ":", p[1]})
	}
	t.SuppressTrailingSpaces()
	fmt.Fprintln(o.w, t.Render())
}

// plainStyle is a borderless table with two spaces between columns, as
// kubectl and docker print theirs.
var plainStyle = func() table.Style {
	s := table.StyleDefault
	s.Name = "dingfn"
	s.Box.PaddingLeft = ""
	s.Box.PaddingRight = "  "
	s.Format.Header = text.FormatDefault
	s.Format.HeaderAlign = text.AlignLeft
	s.Options = table.Options{}
	return s
}()

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// when formats a time for a person in the output's zone; "-" for none.
func (o *output) when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(o.loc).Format("2006-01-02 15:04:05 Z07:00")
}

// duration formats d for a person: 2d3h, 1h40m, 20m, 12m30s or 45s,
// negative with a leading "-".
func duration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Round(time.Second)
	days, hours := int64(d/(24*time.Hour)), int64(d/time.Hour)%24
	mins, secs := int64(d/time.Minute)%60, int64(d/time.Second)%60
	var s string
	switch {
	case days > 0:
		s = fmt.Sprintf("%dd%dh", days, hours)
	case hours > 0:
		s = fmt.Sprintf("%dh%dm", hours, mins)
	case mins > 0 && secs == 0:
		s = fmt.Sprintf("%dm", mins)
	case mins > 0:
		s = fmt.Sprintf("%dm%ds", mins, secs)
	default:
		s = fmt.Sprintf("%ds", secs)
	}
	return sign + s
}

// orDash is s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
