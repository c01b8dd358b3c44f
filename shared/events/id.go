package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// idFields are the payload keys (compared case-insensitively) whose values
// name what an event is about; they identify an event that carries no
// eventId. A register_call_back push spells them UserId, DeptId, …; a
// failed-push record userid, deptid, …: the same keys once folded.
var idFields = []string{"userid", "useridlist", "deptid", "deptidlist", "processinstanceid", "taskid", "type", "labelidlist", "chatid"}

var idFieldBytes = func() [][]byte {
	out := make([][]byte, len(idFields))
	for i, f := range idFields {
		out[i] = []byte(f)
	}
	return out
}()

// okID is what an eventId may look like to be used as the log id as it is;
// anything else is hashed, so ids stay short, printable store keys.
var okID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// EventID returns the log id of an event: DingTalk's eventId when the
// payload has one (hashed if it is not 1-128 of [A-Za-z0-9_.-]), else a
// deterministic id derived from the event's identity, so that a
// redelivery, an exact replay and the same event recovered from
// get_call_back_failed_result all map to one id:
//
//	"ev-" + the first 32 hex digits of
//	SHA-256("dingfn-event/1\n" + type + "\n" + corpId + "\n" +
//	        for each id field present, sorted by name:
//	            name + "=" + its values, sorted, joined by "," + "\n" +
//	        time)
//
// The id fields are userid, useridlist, deptid, deptidlist,
// processinstanceid, taskid, type (an approval's start, finish, …),
// labelidlist and chatid (payload keys matched
// case-insensitively; string values unquoted, numbers as written). time is
// the event's time (EventTime, else TimeStamp; seconds and milliseconds
// both) in Unix milliseconds, or "payload:" + the hex SHA-256 of the
// compacted payload when it has none.
func EventID(eventID, typ, corpID string, payload []byte, t time.Time) string {
	if eventID != "" {
		if okID.MatchString(eventID) {
			return eventID
		}
		return "ev-" + digest("dingfn-event-id/1\n"+eventID)
	}
	var b strings.Builder
	b.Grow(128 + len(typ) + len(corpID))
	b.WriteString("dingfn-event/1\n")
	b.WriteString(typ)
	b.WriteByte('\n')
	b.WriteString(corpID)
	b.WriteByte('\n')
	for _, f := range identity(payload) {
		b.WriteString(f)
		b.WriteByte('\n')
	}
	if !t.IsZero() {
		b.WriteString(strconv.FormatInt(t.UnixMilli(), 10))
	} else {
		var c bytes.Buffer
		if json.Compact(&c, payload) != nil {
			c.Reset()
			c.Write(payload)
		}
		sum := sha256.Sum256(c.Bytes())
		b.WriteString("payload:" + hex.EncodeToString(sum[:]))
	}
	return "ev-" + digest(b.String())
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// identity returns "name=v1,v2" for each id field of payload, sorted by
// name. It walks the payload's top-level keys itself (the callback has
// already validated it): on the reply path a reflective decode of the
// whole payload cost more than the log write.
func identity(payload []byte) []string {
	var out []string
	members(payload, func(key, value []byte) {
		for _, name := range idFieldBytes {
			if bytes.EqualFold(key, name) {
				out = append(out, string(name)+"="+strings.Join(values(value), ","))
				return
			}
		}
	})
	slices.Sort(out)
	// Two spellings of one key (userId and UserId) would give the field
	// twice; keep one.
	return slices.Compact(out)
}

// members calls f with each top-level key (unquoted) and raw value of the
// JSON object b. It stops quietly at anything malformed.
func members(b []byte, f func(key, value []byte)) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return
		}
		end := skipString(b, i)
		if end < 0 {
			return
		}
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			if json.Unmarshal(b[i:end], &k) != nil {
				return
			}
			key = []byte(k)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 {
			return
		}
		f(key, b[i:vend])
		i = skipSpace(b, vend)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"').
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				k := skipString(b, j)
				if k < 0 {
					return -1
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		return j
	}
}

// values renders a scalar or an array of scalars, sorted: strings
// unquoted, anything else compacted.
func values(v json.RawMessage) []string {
	var out []string
	if len(v) > 0 && v[0] == '[' {
		i := skipSpace(v, 1)
		for i < len(v) && v[i] != ']' {
			end := skipValue(v, i)
			if end < 0 {
				return fallbackValues(v)
			}
			out = append(out, scalar(v[i:end]))
			i = skipSpace(v, end)
			if i < len(v) && v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
	} else {
		out = []string{scalar(v)}
	}
	slices.Sort(out)
	return out
}

// scalar renders one value: a string without escapes as it is, anything
// else through encoding/json.
func scalar(e []byte) string {
	if len(e) >= 2 && e[0] == '"' && e[len(e)-1] == '"' && bytes.IndexByte(e, '\\') < 0 {
		return string(e[1 : len(e)-1])
	}
	var s string
	if json.Unmarshal(e, &s) == nil {
		return s
	}
	var c bytes.Buffer
	if json.Compact(&c, e) == nil {
		return c.String()
	}
	return string(e)
}

// fallbackValues is values for what the quick walk could not read.
func fallbackValues(v json.RawMessage) []string {
	var arr []json.RawMessage
	if json.Unmarshal(v, &arr) != nil {
		arr = []json.RawMessage{v}
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		out = append(out, scalar(e))
	}
	slices.Sort(out)
	return out
}
