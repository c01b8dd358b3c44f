package dingtalk

import "testing"

func TestIPBlocked(t *testing.T) {
	tests := []struct {
		name, body string
		want       bool
	}{
		{"json block", `{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"u"}`, true},
		{"html page", "\n  <html><body>访问被拒绝</body></html>", true},
		{"normal reply", `{"result":{"list":[]}}`, false},
		{"punish as a value", `{"name":"\"punish\""}`, false},
		{"empty punish", `{"punish":""}`, false},
		{"empty body", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := ipBlocked([]byte(tt.body)); got != tt.want {
				t.Errorf("ipBlocked(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}
