package dingtalktest

import (
	"hash/fnv"
	"regexp"
)

// Custom space (钉盘自定义空间).

var domainRE = regexp.MustCompile(`^[A-Za-z0-9]{1,10}$`)

// GET cspace/get_custom_space?domain=&agent_id=. spaceid is a number, as in
// DingTalk's example (its field table says String).
func (s *Server) cspaceGet(rq *request) reply {
	domain, _ := rq.params.str("domain")
	if domain == "" {
		return missing("domain")
	}
	if !domainRE.MatchString(domain) {
		return fail(40035, "不合法的参数: domain 须为不超过10位的字母或数字")
	}
	if a, has, err := rq.params.int64("agent_id"); err != nil || (has && a != s.agentID) {
		return fail(40056, "不合法的agentid")
	}
	h := fnv.New32a()
	h.Write([]byte(domain))
	return ok(map[string]any{"spaceid": int64(1000000000 + h.Sum32()%1000000000)})
}
