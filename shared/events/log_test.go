package events

import (
	"bytes"
	"encoding/json"
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
	})
}
