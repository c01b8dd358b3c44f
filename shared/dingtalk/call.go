package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Method describes an API that [Client.Call] can reach by name.
type Method struct {
	// Generation is OAPI or API; it decides where the token goes and how
	// errors are read.
	Generation Generation
	// HTTPMethod is GET or POST. GET sends params as the query string,
	// POST as a JSON body.
	HTTPMethod string
	// Path is the endpoint path, e.g. "/topapi/extcontact/listlabelgroups".
	Path string
	// Safe marks a read that may be resent after a failure with an unknown
	// outcome. Leave it false for anything that creates, sends or changes.
	Safe bool
}

func (m Method) endpoint() endpoint { return newEP(m.Generation, m.HTTPMethod, m.Path, m.Safe) }

// Registry maps method names to APIs. Names are DingTalk's legacy method
// names ("dingtalk.corp.ext.listlabelgroups", with or without the
// "dingtalk." prefix) and endpoint paths ("topapi/extcontact/listlabelgroups",
// with or without the leading slash). It is safe for concurrent use.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Method
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Method{}} }

func normName(name string) string {
	n := strings.TrimSpace(name)
	n = strings.TrimPrefix(n, "/")
	n = strings.TrimPrefix(n, "dingtalk.")
	return n
}

// Register adds or replaces a name. Registering a method also makes its path
// callable by name.
func (r *Registry) Register(name string, m Method) error {
	return r.put(m, name, m.Path)
}

// put checks m and registers it under names.
func (r *Registry) put(m Method, names ...string) error {
	name := names[0]
	if normName(name) == "" {
		return errors.New("dingtalk: empty method name")
	}
	if m.HTTPMethod != http.MethodGet && m.HTTPMethod != http.MethodPost {
		return fmt.Errorf("dingtalk: method %q: HTTPMethod must be GET or POST", name)
	}
	if m.Path == "" || strings.Contains(m.Path, "?") {
		return fmt.Errorf("dingtalk: method %q: bad path %q", name, m.Path)
	}
	if m.Generation != OAPI && m.Generation != API {
		return fmt.Errorf("dingtalk: method %q: unknown generation", name)
	}
	if !strings.HasPrefix(m.Path, "/") {
		m.Path = "/" + m.Path
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		r.m[normName(n)] = m
	}
	return nil
}

// Lookup returns the method registered under name.
func (r *Registry) Lookup(name string) (Method, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	m, ok := r.m[normName(name)]
	return m, ok
}

// Names returns every registered name, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// mustRegister makes a typed service's endpoint callable by its path and
// by the legacy names it replaces.
func (r *Registry) mustRegister(ep endpoint, names ...string) {
	r.mustAlias(ep, append([]string{ep.path}, names...)...)
}

// mustAlias makes ep callable by names only, for an endpoint whose path
// already names another call.
func (r *Registry) mustAlias(ep endpoint, names ...string) {
	m := Method{Generation: ep.gen, HTTPMethod: ep.method, Path: ep.path, Safe: ep.safe}
	if err := r.put(m, names...); err != nil {
		panic(err)
	}
}

// ErrUnknownMethod is returned by Call for a name that is not registered.
var ErrUnknownMethod = errors.New("dingtalk: unknown method")

// Call calls an API by name, the way the old SDKs' app.run did:
//
//	var out struct{ Results []dingtalk.LabelGroup `json:"results"` }
//	err := c.Call(ctx, "dingtalk.corp.ext.listlabelgroups", map[string]any{"size": 20, "offset": 0}, &out)
//
// params is a map or a struct (encoded with encoding/json); it becomes the
// JSON body of a POST or the query of a GET. out receives the whole reply
// body once the reply is known to be a success. Legacy names run on the
// current endpoint, so out must match the current reply shape. Rate
// limiting, token handling and retries apply as for the typed services.
func (c *Client) Call(ctx context.Context, name string, params any, out any) error {
	reg := c.registry
	if reg == nil {
		reg = defaultRegistry()
	}
	m, ok := reg.Lookup(name)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownMethod, name)
	}
	ep := m.endpoint()
	r := &request{ep: ep}
	if m.HTTPMethod == http.MethodGet {
		q, err := paramsQuery(params)
		if err != nil {
			return fmt.Errorf("dingtalk: %s: params: %w", ep.api, err)
		}
		r.query = q
	} else if params != nil {
		r.body = params
	} else {
		r.body = struct{}{}
	}
	return c.do(ctx, r, out)
}

// paramsQuery turns params into a query string. Nested values are sent as
// JSON text, as DingTalk's GET endpoints expect.
func paramsQuery(params any) (url.Values, error) {
	q := url.Values{}
	if params == nil {
		return q, nil
	}
	if v, ok := params.(url.Values); ok {
		return v, nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errors.New("params must encode as a JSON object")
	}
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			q.Set(k, s)
			continue
		}
		if string(raw) == "null" {
			continue
		}
		q.Set(k, string(raw))
	}
	return q, nil
}

// defaultRegistry returns the registry of every client built without
// WithRegistry. Clients never expose it, so one copy serves them all, and
// it is built on the first Call rather than on every NewClient. A function
// rather than a sync.OnceValue variable, whose initialiser would keep
// DefaultRegistry in binaries that never Call.
func defaultRegistry() *Registry {
	defaultReg.once.Do(func() { defaultReg.r = DefaultRegistry() })
	return defaultReg.r
}

var defaultReg struct {
	once sync.Once
	r    *Registry
}

// DefaultRegistry returns a registry holding every API the typed services
// use, under its path and under the legacy names (TOP method names of the
// obsolete eco.taobao.com gateway, old oapi paths with the same parameters)
// it replaces.
func DefaultRegistry() *Registry {
	r := NewRegistry()
	// Auth. The old oapi names take the same parameters as their
	// replacements, so they are aliases; the reply has the current shape.
	r.mustRegister(epUserGetUserInfo, "user/getuserinfo")
	r.mustRegister(epUserGetByUnionID, "user/getUseridByUnionid")
	r.mustRegister(epJSAPITicket)
	r.mustRegister(epGetJSAPITicket)
	// Contacts.
	r.mustRegister(epDeptListSub)
	r.mustRegister(epDeptListSubID)
	r.mustRegister(epDeptGet)
	r.mustRegister(epDeptCreate)
	r.mustRegister(epDeptUpdate)
	r.mustRegister(epDeptDelete)
	r.mustRegister(epUserList)
	r.mustRegister(epUserListSimp)
	r.mustRegister(epUserListID)
	r.mustRegister(epUserGet)
	r.mustRegister(epUserCreate)
	r.mustRegister(epUserUpdate)
	r.mustRegister(epUserDelete, "user/delete")
	r.mustRegister(epRoleList, "corp.role.list")
	r.mustRegister(epRoleGetGroup, "corp.role.getrolegroup")
	// Work notices.
	r.mustRegister(epMsgSend, "corp.message.corpconversation.asyncsend", "topapi/message/corpconversation/asyncsend")
	r.mustRegister(epMsgProgress, "corp.message.corpconversation.getsendprogress")
	r.mustRegister(epMsgResult, "corp.message.corpconversation.getsendresult")
	r.mustRegister(epMsgRecall)
	// The app robot. The session webhook is not callable by name: its
	// session comes from a received message.
	r.mustRegister(epBotSendUsers)
	r.mustRegister(epBotSendGroup)
	r.mustRegister(epBotRecallUsers)
	r.mustRegister(epBotRecallGroup)
	r.mustRegister(epBotReadStatus)
	// Approvals: TOP names go to the historical topapi endpoints, which
	// take the same snake_case parameters; the typed service uses /v1.0.
	r.mustRegister(epTopProcCreate, "smartwork.bpms.processinstance.create")
	r.mustRegister(epTopProcGet, "smartwork.bpms.processinstance.get")
	r.mustRegister(epTopProcListIDs, "smartwork.bpms.processinstance.list")
	r.mustRegister(epProcCreate) // the path itself names the create call
	r.mustRegister(epProcListIDs)
	// The new-API get shares its path with create; it is reached by name.
	r.mustAlias(epProcGet, "workflow.processInstances.get")
	// Callbacks.
	r.mustRegister(epCbRegister)
	r.mustRegister(epCbGet)
	r.mustRegister(epCbUpdate)
	r.mustRegister(epCbDelete)
	r.mustRegister(epCbFailed)
	// Attendance.
	r.mustRegister(epAttSchedules, "smartwork.attends.listschedule")
	r.mustRegister(epAttGroups, "smartwork.attends.getsimplegroups")
	r.mustRegister(epAttGroup)
	// External contacts.
	r.mustRegister(epExtLabelGroups, "corp.ext.listlabelgroups")
	r.mustRegister(epExtList, "corp.ext.list")
	r.mustRegister(epExtCreate, "corp.ext.add")
	r.mustRegister(epExtUpdate, "corp.ext.update")
	r.mustRegister(epExtDelete, "corp.ext.delete")
	// Custom space.
	r.mustRegister(epCSpaceGet)
	return r
}
