package callback

import (
	"errors"
	"testing"
	"time"
)

func TestParseEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw     string
		typ, corp, id string
		time          time.Time
	}{
		{"doc example, numeric TimeStamp", `{"EventType":"user_add_org","TimeStamp":43535463645,"UserId":["u1","u2"],"CorpId":"dingA"}`, "user_add_org", "dingA", "", time.Unix(43535463645, 0)},
		{"string TimeStamp in ms", `{"EventType":"org_dept_modify","DeptId":[1],"TimeStamp":"1700000000123","CorpId":"dingA"}`, "org_dept_modify", "dingA", "", time.UnixMilli(1700000000123)},
		{"string TimeStamp in s", `{"EventType":"x","TimeStamp":"1700000000"}`, "x", "", "", time.Unix(1700000000, 0)},
		{"camelCase keys", `{"eventType":"label_conf_add","corpId":"dingB","eventId":"e9","eventTime":1700000000999}`, "label_conf_add", "dingB", "e9", time.UnixMilli(1700000000999)},
		{"CorpID spelling", `{"EventType":"org_change","CorpID":"dingC"}`, "org_change", "dingC", "", time.Time{}},
		{"lower-case corpid", `{"EventType":"org_change","corpid":"dingD"}`, "org_change", "dingD", "", time.Time{}},
		{"EventTime wins over TimeStamp", `{"EventType":"x","EventTime":1700000000000,"TimeStamp":"1600000000000"}`, "x", "", "", time.UnixMilli(1700000000000)},
		{"bad EventTime falls back", `{"EventType":"x","EventTime":"soon","TimeStamp":1600000000000}`, "x", "", "", time.UnixMilli(1600000000000)},
		{"unparsable times", `{"EventType":"x","EventTime":true,"TimeStamp":{"a":1}}`, "x", "", "", time.Time{}},
		{"negative time", `{"EventType":"x","TimeStamp":-5}`, "x", "", "", time.Time{}},
		{"suite push AuthCorpId", `{"EventType":"org_suite_auth","AuthCorpId":"dingE"}`, "org_suite_auth", "dingE", "", time.Time{}},
		{"surrounding space", " \n{\"EventType\":\"check_url\"}\n", "check_url", "", "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseEvent([]byte(tt.raw))
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			if ev.Type != tt.typ || ev.CorpID != tt.corp || ev.EventID != tt.id || !ev.Time.Equal(tt.time) {
				t.Errorf("got {%q %q %q %v}, want {%q %q %q %v}", ev.Type, ev.CorpID, ev.EventID, ev.Time, tt.typ, tt.corp, tt.id, tt.time)
			}
		})
	}
}

func TestParseEventMalformed(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"", "success", "[]", `"check_url"`, "null", `{"EventType":""}`, `{"EventType":null}`, `{"EventType":["a"]}`, `{"CorpId":"x"}`, `{"EventType":"x"`, `{"EventType":"x","CorpId":5}`} {
		if ev, err := ParseEvent([]byte(raw)); !errors.Is(err, ErrMalformedEvent) || ev != nil {
			t.Errorf("ParseEvent(%q) = %+v, %v; want ErrMalformedEvent", raw, ev, err)
		}
	}
}

func TestIsCheck(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]bool{
		"check_url": true, "check_create_suite_url": true, "check_update_suite_url": true,
		"check_in": false, "user_add_org": false, "CHECK_URL": false, "": false,
	} {
		if got := IsCheck(typ); got != want {
			t.Errorf("IsCheck(%q) = %v, want %v", typ, got, want)
		}
	}
}
