package dingtalk

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// oapiStatus is the envelope every old-API reply carries besides its data.
type oapiStatus struct {
	ErrCode   int    `json:"errcode"`
	ErrMsg    string `json:"errmsg"`
	RequestID string `json:"request_id"`
}

// TestTestdataDecodesStrictly decodes every recorded reply into the
// client's types with unknown fields disallowed, so a misspelt json tag or
// a field the client forgot shows up here, not in production.
func TestTestdataDecodesStrictly(t *testing.T) {
	t.Parallel()
	targets := map[string]func() any{
		"user_getuserinfo.json": func() any {
			return &struct {
				oapiStatus
				Result UserInfo `json:"result"`
			}{}
		},
		"department_listsub.json": func() any {
			return &struct {
				oapiStatus
				Result []Department `json:"result"`
			}{}
		},
		"department_get.json": func() any {
			return &struct {
				oapiStatus
				Result DepartmentDetail `json:"result"`
			}{}
		},
		"user_get.json": func() any {
			return &struct {
				oapiStatus
				Result User `json:"result"`
			}{}
		},
		"user_list_page1.json": func() any {
			return &struct {
				oapiStatus
				Result UserPage `json:"result"`
			}{}
		},
		"user_list_page2.json": func() any {
			return &struct {
				oapiStatus
				Result UserPage `json:"result"`
			}{}
		},
		"role_list.json": func() any {
			return &struct {
				oapiStatus
				Result RolePage `json:"result"`
			}{}
		},
		"role_getrolegroup.json": func() any {
			return &struct {
				oapiStatus
				RoleGroup RoleGroup `json:"role_group"`
			}{}
		},
		"message_getsendresult.json": func() any {
			return &struct {
				oapiStatus
				SendResult SendResult `json:"send_result"`
			}{}
		},
		"process_get.json": func() any {
			return &struct {
				Success bool            `json:"success"`
				Result  ProcessInstance `json:"result"`
			}{}
		},
		"callback_failed.json": func() any {
			return &struct {
				oapiStatus
				FailedResults
			}{}
		},
		"attendance_listschedule.json": func() any {
			return &struct {
				oapiStatus
				Result SchedulePage `json:"result"`
			}{}
		},
		"attendance_getsimplegroups.json": func() any {
			return &struct {
				oapiStatus
				Result GroupPage `json:"result"`
			}{}
		},
		"extcontact_list.json": func() any {
			return &struct {
				oapiStatus
				Results []ExtContact `json:"results"`
			}{}
		},
		"extcontact_listlabelgroups.json": func() any {
			return &struct {
				oapiStatus
				Results []LabelGroup `json:"results"`
			}{}
		},
		"error_88_40014.json":         func() any { return &oapiEnvelope{} },
		"error_api_invalid_auth.json": func() any { return &apiErrorBody{} },
		"error_api_qps.json":          func() any { return &apiErrorBody{} },
		"punish.json": func() any {
			return &struct {
				Status int    `json:"status"`
				Wait   int    `json:"wait"`
				Source string `json:"source"`
				Punish string `json:"punish"`
				UUID   string `json:"uuid"`
			}{}
		},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			newTarget, ok := targets[name]
			if !ok {
				t.Fatalf("no decode target for %s; add one", name)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(newTarget()); err != nil {
				t.Errorf("decode %s: %v", name, err)
			}
		})
	}
}
