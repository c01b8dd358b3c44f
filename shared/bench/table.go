package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TableHeader is the header of the table, the line README's copy must
// start with.
const TableHeader = "| measurement | figure | aim | met |"

// RowLabel is the first cell of a row: its measurement's name and the
// row's name.
func RowLabel(m Measurement, r Row) string { return m.Name + ": " + r.Name }

// Markdown renders the report: a line saying where and when it was
// measured, and the table.
func (r *Report) Markdown() string {
	var b strings.Builder
	mode := "full run"
	switch {
	case r.Options.Quick && r.Options.Large:
		mode = "quick run with --large"
	case r.Options.Quick:
		mode = "quick run (fewer repetitions, smaller organisation: noisier figures)"
	case r.Options.Large:
		mode = "full run with --large"
	}
	fmt.Fprintf(&b, "Measured by `dingfn bench` on %s, %s, %s; %s in %s.\n\n",
		r.Date.Format("2006-01-02 15:04 MST"), r.Machine, r.Machine.GoVersion, mode, r.Elapsed.Round(time.Second))
	b.WriteString(TableHeader + "\n|---|---|---|---|\n")
	for _, s := range r.Sections {
		for i, row := range s.Measurement.Rows {
			f := s.Figures[i]
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(RowLabel(s.Measurement, row)), cell(f.cell()), row.Aim, f.verdict(row.Aim))
		}
	}
	return b.String()
}

// cell keeps a value inside its table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

func (f Figure) cell() string {
	switch {
	case f.Err != nil:
		return "error: " + f.Err.Error()
	case f.Skip != "":
		return "— (" + f.Skip + ")"
	}
	s := "**" + f.text() + "**"
	if f.Detail != "" {
		s += " — " + f.Detail
	}
	return s
}

func (f Figure) text() string {
	if f.Text != "" {
		return f.Text
	}
	return strconv.FormatFloat(f.Value, 'f', 2, 64)
}

func (f Figure) verdict(a Aim) string {
	switch {
	case f.Err != nil:
		return "error"
	case f.Skip != "", a == (Aim{}):
		return "–"
	case a.Met(f.Value):
		return "✓"
	default:
		return "✗"
	}
}

// ratio is the figure a ÷ b, with the operands as its detail.
func ratio(a, b float64, format func(float64) string) Figure {
	if b == 0 {
		return Figure{Err: fmt.Errorf("bench: ratio with a zero yardstick (%s ÷ %s)", format(a), format(b))}
	}
	return Figure{Value: a / b, Detail: format(a) + " ÷ " + format(b)}
}

// fmtDuration prints a duration with three significant digits.
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%.0f ns", float64(d))
	case d < time.Millisecond:
		return fmt.Sprintf("%.3g µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.3g ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.3g s", d.Seconds())
	}
}

func fmtSeconds(s float64) string { return fmtDuration(time.Duration(s * float64(time.Second))) }

// fmtBytes prints a size in MB (10^6 bytes, as binary sizes are quoted)
// or MiB for memory.
func fmtMB(n float64) string { return fmt.Sprintf("%.1f MB", n/1e6) }

func fmtMiB(n float64) string { return fmt.Sprintf("%.1f MiB", n/(1<<20)) }

// Result is one row of a report, for --json.
type Result struct {
	Measurement string  `json:"measurement"`
	Row         string  `json:"row"`
	Aim         string  `json:"aim"`
	Value       float64 `json:"value"`
	Text        string  `json:"text,omitempty"`
	Detail      string  `json:"detail,omitempty"`
	// Met is whether the figure meets the aim; absent when the row did
	// not run (Skip) or failed (Error).
	Met   *bool  `json:"met,omitempty"`
	Skip  string `json:"skip,omitempty"`
	Error string `json:"error,omitempty"`
}

// Results lists the report's rows in table order.
func (r *Report) Results() []Result {
	var out []Result
	for _, s := range r.Sections {
		for i, row := range s.Measurement.Rows {
			f := s.Figures[i]
			res := Result{Measurement: s.Measurement.Name, Row: row.Name, Aim: row.Aim.String(), Skip: f.Skip}
			switch {
			case f.Err != nil:
				res.Error = f.Err.Error()
			case f.Skip == "":
				met := row.Aim.Met(f.Value)
				res.Value, res.Text, res.Detail, res.Met = f.Value, f.text(), f.Detail, &met
			}
			out = append(out, res)
		}
	}
	return out
}
