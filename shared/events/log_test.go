package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestEncodeIsMarshal: the reply path's encoder writes what json.Marshal
// writes, payload included (spaces inside it kept).
func TestEncodeIsMarshal(t *testing.T) {
	t.Parallel()
	for _, e := range []Entry{
		{ID: "e1", Type: "user_add_org", ReceivedAt: time.Unix(1, 0).UTC(), Source: SourcePush, Payload: json.RawMessage(`{"EventType":"user_add_org","UserId":["u1"]}`), Status: StatusPending, NextAttemptAt: time.Unix(60, 0).UTC()},
		{ID: "e2", Type: "x", Payload: json.RawMessage(`{ "a" : "\"payload\":null," }`), Status: StatusDone, LastError: `"payload":null,`},
		{ID: "e3", Type: "x", Status: StatusDone},
		// The outcome of inline processing: results, errors to escape.
		{ID: "e4", Type: "user_add_org", CorpID: "dingCorp", ReceivedAt: time.Unix(1, 5).UTC(), EventTime: time.UnixMilli(1772442000123).UTC(), Source: SourcePush,
			Payload: json.RawMessage(`{"EventType":"user_add_org"}`), Status: StatusFailed, Attempts: 2, LastError: "b: <html> & \"quotes\" 失败\n",
			NextAttemptAt: time.Unix(120, 0).UTC(), UpdatedAt: time.Unix(61, 0).UTC(),
			Results: map[string]Result{
				"b": {Status: StatusFailed, Attempts: 2, LastError: "<html> & \"quotes\" 失败\n", At: time.Unix(61, 0).UTC()},
				"a": {Status: StatusDone, At: time.Unix(61, 0).UTC()},
				"é": {Status: StatusPending, LastError: "interrupted", At: time.Unix(61, 1).UTC()},
			}},
	} {
		got, err := e.encode()
		if err != nil {
			t.Fatal(err)
		}
		var back Entry
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s: %s does not decode: %v", e.ID, got, err)
		}
		want, _ := json.Marshal(e)
		again, _ := json.Marshal(back)
		if string(again) != string(want) {
			t.Errorf("%s: encode gives %s\nwant %s", e.ID, got, want)
		}
		// With a compact payload (encoding/json compacts a RawMessage) the
		// bytes are the same too.
		var c bytes.Buffer
		if json.Compact(&c, e.Payload) == nil && c.String() == string(e.Payload) && string(got) != string(want) {
			t.Errorf("%s: encode gives %s\nwant the bytes %s", e.ID, got, want)
		}
	}
}

// identityByMap is identity written the obvious way, for comparison.
func identityByMap(payload []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return nil
	}
	var out []string
	for k, v := range m {
		if name := strings.ToLower(k); slices.Contains(idFields, name) {
			out = append(out, name+"="+strings.Join(valuesByJSON(v), ","))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// valuesByJSON is values written the obvious way.
func valuesByJSON(v json.RawMessage) []string {
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

// FuzzIdentity: the hand-written walk of the payload's keys finds what a
// full decode finds, for every valid JSON object.
func FuzzIdentity(f *testing.F) {
	for _, s := range []string{
		`{"EventType":"user_add_org","UserId":["u1","u2"],"TimeStamp":"1"}`,
		`{ "deptId" : [ 1 , 2 ] , "x" : { "userid" : "nested" } , "TaskId":7 }`,
		`{"a":"\"}","userIdList":["\u0041"],"u\u0073erid":"esc","type":null}`,
		`{"labelIdList":[1.5e3,true],"chatid":{"a":[1,{"b":2}]},"ProcessInstanceId":"p"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var probe map[string]json.RawMessage
		if json.Unmarshal(b, &probe) != nil || probe == nil || !utf8.Valid(b) {
			return // a key of invalid UTF-8 never names an id field
		}
		// The walk must see exactly the top-level keys a decoder sees.
		var keys, walked []string
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.Token() // {
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return
			}
		}
		members(b, func(k, _ []byte) { walked = append(walked, string(k)) })
		if !slices.Equal(keys, walked) {
			t.Fatalf("walk of %s saw keys %q, want %q", b, walked, keys)
		}
		// A repeated key keeps its last value in a map, every value in the
		// walk; the comparison below holds only without repeats.
		if len(slices.Compact(slices.Sorted(slices.Values(keys)))) != len(keys) {
			return
		}
		if got, want := identity(b), identityByMap(b); !slices.Equal(got, want) {
			t.Fatalf("identity(%s) = %q, want %q", b, got, want)
		}
		// EventID hashes the documented text, built here the obvious way.
		text := "dingfn-event/1\nuser_add_org\ndingA\n"
		for _, f := range identityByMap(b) {
			text += f + "\n"
		}
		sum := sha256.Sum256([]byte(text + "1700000000123"))
		if got, want := EventID("", "user_add_org", "dingA", b, time.UnixMilli(1700000000123)), "ev-"+hex.EncodeToString(sum[:16]); got != want {
			t.Fatalf("EventID of %s = %s, want %s (the hash of %q)", b, got, want, text)
		}
	})
}

// TestIndexRowEncoding: the index row's key and value are what the
// documented formats (fmt's %015d, encoding/json) give.
func TestIndexRowEncoding(t *testing.T) {
	t.Parallel()
	for _, at := range []time.Time{time.UnixMilli(1772442000123), time.Unix(0, 0), time.UnixMilli(-5), time.UnixMilli(1234567890123456789), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := DueKey(at, "ev-1"), DuePrefix+fmt.Sprintf("%015d", max(at.UnixMilli(), 0))+"/ev-1"; got != want {
			t.Errorf("DueKey(%v) = %q, want %q", at, got, want)
		}
		r := indexRow{ID: "ev-\"1\"", DueAt: at.UTC()}
		want, _ := json.Marshal(r) // nil past year 9999, as before
		if got := r.encode(); string(got) != string(want) {
			t.Errorf("index row %s, want %s", got, want)
		}
	}
}
