package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
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

// plainID reports whether an eventId may be used as the log id as it is:
// 1-128 of [A-Za-z0-9_.-]. Anything else is hashed, so ids stay short,
// printable store keys.
func plainID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

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
		if plainID(eventID) {
			return eventID
		}
		return "ev-" + digest("dingfn-event-id/1\n"+eventID)
	}
	// On the callback's reply path: the hashed text is built in buffers
	// on the stack, without a string per field.
	var textBuf, fieldBuf [512]byte
	var spanBuf [8]span
	fields, lines := identityLines(fieldBuf[:0], spanBuf[:0], payload)
	b := append(textBuf[:0], "dingfn-event/1\n"...)
	b = append(b, typ...)
	b = append(b, '\n')
	b = append(b, corpID...)
	b = append(b, '\n')
	for _, l := range lines {
		b = append(b, fields[l.lo:l.hi]...)
		b = append(b, '\n')
	}
	if !t.IsZero() {
		b = strconv.AppendInt(b, t.UnixMilli(), 10)
	} else {
		var c bytes.Buffer
		if json.Compact(&c, payload) != nil {
			c.Reset()
			c.Write(payload)
		}
		sum := sha256.Sum256(c.Bytes())
		b = append(b, "payload:"...)
		b = hex.AppendEncode(b, sum[:])
	}
	return "ev-" + digestOf(b)
}

// digest is the first 32 hex digits of the SHA-256 of s.
func digest(s string) string { return digestOf([]byte(s)) }

// digestOf is digest of b.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	var h [32]byte
	hex.Encode(h[:], sum[:16])
	return string(h[:])
}

// span is a part buf[lo:hi] of a buffer.
type span struct{ lo, hi int }

// identity returns "name=v1,v2" for each id field of payload, sorted by
// name (see identityLines).
func identity(payload []byte) []string {
	buf, lines := identityLines(nil, nil, payload)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = string(buf[l.lo:l.hi])
	}
	return out
}

// identityLines appends "name=v1,v2" for each id field of payload to buf
// and returns buf and where each line is in it, sorted, without
// duplicates (two spellings of one key, userId and UserId, give the same
// line). It walks the payload's top-level keys itself (the callback has
// already validated it): on the reply path a reflective decode of the
// whole payload cost more than the log write.
func identityLines(buf []byte, lines []span, payload []byte) ([]byte, []span) {
	members(payload, func(key, value []byte) {
		for _, name := range idFieldBytes {
			if bytes.EqualFold(key, name) {
				lo := len(buf)
				buf = append(buf, name...)
				buf = append(buf, '=')
				buf = appendValues(buf, value)
				lines = append(lines, span{lo, len(buf)})
				return
			}
		}
	})
	line := func(l span) []byte { return buf[l.lo:l.hi] }
	slices.SortFunc(lines, func(a, b span) int { return bytes.Compare(line(a), line(b)) })
	lines = slices.CompactFunc(lines, func(a, b span) bool { return bytes.Equal(line(a), line(b)) })
	return buf, lines
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

// appendValues appends the values of v, a scalar or an array of
// scalars, rendered by scalar, sorted and joined by ",".
func appendValues(buf []byte, v json.RawMessage) []byte {
	var elemBuf [8][]byte
	elems := elemBuf[:0]
	if len(v) > 0 && v[0] == '[' {
		i := skipSpace(v, 1)
		for i < len(v) && v[i] != ']' {
			end := skipValue(v, i)
			if end < 0 {
				elems = elems[:0]
				for _, s := range fallbackValues(v) {
					elems = append(elems, []byte(s))
				}
				break
			}
			elems = append(elems, scalarBytes(v[i:end]))
			i = skipSpace(v, end)
			if i < len(v) && v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
	} else {
		elems = append(elems, scalarBytes(v))
	}
	slices.SortFunc(elems, bytes.Compare)
	for i, e := range elems {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e...)
	}
	return buf
}

// scalarBytes is scalar without a copy for what is its own rendering: a
// string without escapes (its contents), a number, true or false.
func scalarBytes(e []byte) []byte {
	if len(e) >= 2 && e[0] == '"' && e[len(e)-1] == '"' && bytes.IndexByte(e, '\\') < 0 {
		return e[1 : len(e)-1]
	}
	if number(e) || string(e) == "true" || string(e) == "false" {
		return e
	}
	return []byte(scalar(e))
}

// number reports whether e is made of the characters of a JSON number
// only; json.Compact leaves such a token as it is, valid or not.
func number(e []byte) bool {
	if len(e) == 0 {
		return false
	}
	for _, c := range e {
		if !('0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
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

// fallbackValues is appendValues for what the quick walk could not read.
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
