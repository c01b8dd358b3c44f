package dingtalktest

import (
	"fmt"
	"regexp"
	"slices"
)

// External contacts (外部联系人).

// ExternalContact is an external contact of the organisation.
type ExternalContact struct {
	UserID         string   `json:"userid"`
	Name           string   `json:"name"`
	Mobile         string   `json:"mobile"`
	StateCode      string   `json:"state_code"`
	Title          string   `json:"title"`
	CompanyName    string   `json:"company_name"`
	Address        string   `json:"address"`
	Remark         string   `json:"remark"`
	Email          string   `json:"email"`
	FollowerUserID string   `json:"follower_user_id"`
	LabelIDs       []int64  `json:"label_ids"`
	ShareDeptIDs   []int64  `json:"share_dept_ids"`
	ShareUserIDs   []string `json:"share_user_ids"`
}

type labelGroup struct {
	name   string
	color  int64
	labels []role
}

var extLabelGroups = []labelGroup{
	{"客户类型", -15220075, []role{{101, "重要客户"}, {102, "普通客户"}, {103, "潜在客户"}}},
	{"行业", -31578, []role{{201, "制造业"}, {202, "互联网"}, {203, "金融"}}},
}

func labelExists(id int64) bool {
	for _, g := range extLabelGroups {
		for _, l := range g.labels {
			if l.id == id {
				return true
			}
		}
	}
	return false
}

type extState struct {
	n        uint64
	contacts []*ExternalContact
}

func (e *extState) init() {}

// seed adds a few contacts followed by the first user.
func (e *extState) seed(follower string) {
	if follower == "" {
		return
	}
	for i, c := range []struct{ name, company string }{{"钱多多", "多多贸易有限公司"}, {"孙悟空", "花果山科技"}, {"周小川", "川流物流"}} {
		e.n++
		e.contacts = append(e.contacts, &ExternalContact{
			UserID: fmt.Sprintf("ext%06d", e.n), Name: c.name, Mobile: fmt.Sprintf("1370000%04d", i), StateCode: "86",
			CompanyName: c.company, FollowerUserID: follower, LabelIDs: []int64{101 + int64(i%2)},
			ShareDeptIDs: []int64{}, ShareUserIDs: []string{},
		})
	}
}

// ExternalContacts returns the external contacts in creation order.
func (s *Server) ExternalContacts() []ExternalContact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ExternalContact, 0, len(s.ext.contacts))
	for _, c := range s.ext.contacts {
		x := *c
		x.LabelIDs, x.ShareDeptIDs, x.ShareUserIDs = slices.Clone(c.LabelIDs), slices.Clone(c.ShareDeptIDs), slices.Clone(c.ShareUserIDs)
		out = append(out, x)
	}
	return out
}

// POST topapi/extcontact/listlabelgroups
func (s *Server) extLabelGroups(rq *request) reply {
	off, size, rep, bad := offsetSize(rq, 100, 20)
	if bad {
		return rep
	}
	out := []map[string]any{}
	for i := min(off, len(extLabelGroups)); i < min(off+size, len(extLabelGroups)); i++ {
		g := extLabelGroups[i]
		labels := []map[string]any{}
		for _, l := range g.labels {
			labels = append(labels, map[string]any{"id": l.id, "name": l.name})
		}
		out = append(out, map[string]any{"name": g.name, "color": g.color, "labels": labels})
	}
	return ok(map[string]any{"results": out})
}

// POST topapi/extcontact/list
func (s *Server) extList(rq *request) reply {
	off, size, rep, bad := offsetSize(rq, 100, 20)
	if bad {
		return rep
	}
	out := []*ExternalContact{}
	for i := min(off, len(s.ext.contacts)); i < min(off+size, len(s.ext.contacts)); i++ {
		out = append(out, s.ext.contacts[i])
	}
	return ok(map[string]any{"results": out})
}

var phoneRE = regexp.MustCompile(`^(\+\d{1,4}-)?\d{5,20}$`)

// validateContact checks a contact object; create says whether mobile and
// state_code are required.
func (s *Server) validateContact(c *ExternalContact, create bool) (reply, bool) {
	switch {
	case c.Name == "":
		return fail(40036, "缺少参数 contact.name"), true
	case c.FollowerUserID == "":
		return fail(40036, "缺少参数 contact.follower_user_id"), true
	case create && c.Mobile == "":
		return fail(40036, "缺少参数 contact.mobile"), true
	case create && c.StateCode == "":
		return fail(40036, "缺少参数 contact.state_code"), true
	case len(c.LabelIDs) == 0:
		return fail(60204, "标签不能为空"), true
	case len(c.ShareDeptIDs) > 20 || len(c.ShareUserIDs) > 20:
		return fail(400002, "无效的参数: 共享部门或共享人最多20个"), true
	}
	if create && !phoneRE.MatchString(c.Mobile) {
		return fail(60103, "手机号码不合法"), true
	}
	if s.dir.users[c.FollowerUserID] == nil {
		return fail(60121, "负责人不存在"), true
	}
	for _, l := range c.LabelIDs {
		if !labelExists(l) {
			return fail(400002, fmt.Sprintf("无效的参数: 标签 %d 不存在", l)), true
		}
	}
	return reply{}, false
}

// POST topapi/extcontact/create
func (s *Server) extCreate(rq *request) reply {
	var c ExternalContact
	if has, err := rq.params.decode("contact", &c); err != nil {
		return badParam(err)
	} else if !has {
		return fail(40036, "缺少参数 contact")
	}
	if rep, bad := s.validateContact(&c, true); bad {
		return rep
	}
	for _, x := range s.ext.contacts {
		if x.Mobile == c.Mobile && x.StateCode == c.StateCode {
			return fail(60200, "外部联系人已存在")
		}
	}
	s.ext.n++
	c.UserID = fmt.Sprintf("ext%06d", s.ext.n)
	c.ShareDeptIDs, c.ShareUserIDs = nonNilInts(c.ShareDeptIDs), nonNil(c.ShareUserIDs)
	s.ext.contacts = append(s.ext.contacts, &c)
	return ok(map[string]any{"userid": c.UserID})
}

// POST topapi/extcontact/update
func (s *Server) extUpdate(rq *request) reply {
	var in struct {
		ExternalContact
		UserID string `json:"user_id"`
	}
	if has, err := rq.params.decode("contact", &in); err != nil {
		return badParam(err)
	} else if !has {
		return fail(40036, "缺少参数 contact")
	}
	if in.UserID == "" {
		return fail(40036, "缺少参数 contact.user_id")
	}
	i := slices.IndexFunc(s.ext.contacts, func(c *ExternalContact) bool { return c.UserID == in.UserID })
	if i < 0 {
		return fail(60121, "外部联系人不存在")
	}
	c := in.ExternalContact
	if rep, bad := s.validateContact(&c, false); bad {
		return rep
	}
	old := s.ext.contacts[i]
	c.UserID, c.Mobile, c.StateCode = old.UserID, old.Mobile, old.StateCode
	c.ShareDeptIDs, c.ShareUserIDs = nonNilInts(c.ShareDeptIDs), nonNil(c.ShareUserIDs)
	s.ext.contacts[i] = &c
	return ok(nil)
}

// POST topapi/extcontact/delete
func (s *Server) extDelete(rq *request) reply {
	id, _ := rq.params.str("user_id")
	if id == "" {
		return fail(40036, "缺少参数 user_id")
	}
	i := slices.IndexFunc(s.ext.contacts, func(c *ExternalContact) bool { return c.UserID == id })
	if i < 0 {
		return fail(60121, "外部联系人不存在")
	}
	s.ext.contacts = slices.Delete(s.ext.contacts, i, i+1)
	return ok(nil)
}
