package dingtalk

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
)

// CSpaceService covers the custom space (自定义空间) of 钉盘. The API is
// historical and has no documented 1:1 replacement.
type CSpaceService service

var epCSpaceGet = oapiEP(http.MethodGet, "/cspace/get_custom_space", true)

// GetCustomSpace returns the id of the app's custom space for domain (≤ 10
// alphanumerics). agentID may be 0 for an internal app.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtain-user-space-under-the-enterprise
func (s *CSpaceService) GetCustomSpace(ctx context.Context, domain string, agentID int64) (string, error) {
	if domain == "" || len(domain) > 10 {
		return "", errors.New("dingtalk: GetCustomSpace needs a domain of 1..10 characters")
	}
	for _, r := range domain {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "", errors.New("dingtalk: GetCustomSpace domain must be alphanumeric")
		}
	}
	q := url.Values{"domain": {domain}}
	if agentID != 0 {
		q.Set("agent_id", strconv.FormatInt(agentID, 10))
	}
	var out struct {
		SpaceID flexString `json:"spaceid"` // a String in the table, a Number in the example
	}
	if err := s.client.oapi(ctx, epCSpaceGet, q, nil, &out); err != nil {
		return "", err
	}
	return string(out.SpaceID), nil
}
