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

// identity returns "name=v1,v2" for each id field of payload, sorted.
func identity(payload []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return nil
	}
	var out []string
	for k, v := range m {
		name := strings.ToLower(k)
		if !slices.Contains(idFields, name) {
			continue
		}
		out = append(out, name+"="+strings.Join(values(v), ","))
	}
	slices.Sort(out)
	// Two spellings of one key (userId and UserId) would give the field
	// twice; keep one.
	return slices.Compact(out)
}

// values renders a scalar or an array of scalars, sorted.
func values(v json.RawMessage) []string {
	var arr []json.RawMessage
	if json.Unmarshal(v, &arr) != nil {
		arr = []json.RawMessage{v}
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		var s string
		if json.Unmarshal(e, &s) == nil {
			out = append(out, s)
			continue
		}
		var c bytes.Buffer
		if json.Compact(&c, e) == nil {
			out = append(out, c.String())
		}
	}
	slices.Sort(out)
	return out
}
