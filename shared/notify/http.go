package notify

import (
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/httpapi"
)

// OpenAPI is the OpenAPI 3.1 document of notify's HTTP API, served at
// GET /v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

// MirrorSyncedAtHeader carries, on directory answers, when the directory
// mirror last completed a walk (RFC 3339), or "never".
const MirrorSyncedAtHeader = "X-Dingfn-Mirror-Synced-At"

// ReplayedHeader is set to "true" on an answer that is the stored first
// answer to the same Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

// Request body limits.
const (
	// MaxNoticeBody fits MaxRequestUserIDs userids.
	MaxNoticeBody = 2 << 20
	// maxSmallBody bounds every other body.
	maxSmallBody = 64 << 10
)

// Handler returns notify's HTTP API over s: the /v1 routes, each but
// GET /v1/openapi.json behind keys (NOTIFY_API_KEYS). Errors are
// dingfn's JSON error body; an unknown path is 404 and a known path with
// another method 405 with Allow.
func Handler(s *Service, keys *httpapi.Keys) http.Handler {
	h := &handler{s: s}
	mux := http.NewServeMux()
	routes := []struct {
		method, path string
		fn           http.HandlerFunc
		public       bool
	}{
		{http.MethodPost, "/v1/notices", h.postNotice, false},
		{http.MethodGet, "/v1/notices/{id}", h.getNotice, false},
		{http.MethodDelete, "/v1/notices/{id}", h.deleteNotice, false},
		{http.MethodPost, "/v1/robots/{name}/messages", h.postRobot, false},
		{http.MethodPost, "/v1/robot/messages", h.postRobotMessage, false},
		{http.MethodGet, "/v1/robot/messages/{id}", h.getRobotMessage, false},
		{http.MethodDelete, "/v1/robot/messages/{id}", h.deleteRobotMessage, false},
		{http.MethodPost, "/v1/jsapi/config", h.postJSAPI, false},
		{http.MethodPost, "/v1/login", h.postLogin, false},
		{http.MethodGet, "/v1/users", h.getUsers, false},
		{http.MethodGet, "/v1/users/{userid}", h.getUser, false},
		{http.MethodGet, "/v1/departments/{id}", h.getDepartment, false},
		{http.MethodGet, "/v1/departments/{id}/users", h.getMembers, false},
		{http.MethodGet, "/v1/openapi.json", h.getOpenAPI, true},
	}
	allow := map[string][]string{}
	var paths []string
	for _, rt := range routes {
		var fn http.Handler = rt.fn
		if !rt.public {
			fn = keys.Require(fn)
		}
		mux.Handle(rt.method+" "+rt.path, fn)
		if _, ok := allow[rt.path]; !ok {
			paths = append(paths, rt.path)
		}
		allow[rt.path] = append(allow[rt.path], rt.method)
	}
	for _, p := range paths {
		methods := allow[p]
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			httpapi.WriteError(w, r, http.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("%s does not take %s; it takes %s", p, r.Method, strings.Join(methods, ", ")))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, http.StatusNotFound, "not_found",
			fmt.Sprintf("no route for %s %s; the API is under /v1 (GET /v1/openapi.json describes it)", r.Method, r.URL.Path))
	})
	return mux
}

type handler struct {
	s *Service
}

// fail answers r with err as notify's error body, logging 5xx answers.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	if e.Status >= 500 {
		h.s.log.ErrorContext(r.Context(), "notify: request failed", "path", r.URL.Path, "status", e.Status, "code", e.Body.Error, "err", err)
	} else {
		h.s.log.InfoContext(r.Context(), "notify: request refused", "path", r.URL.Path, "status", e.Status, "code", e.Body.Error)
	}
	e.Write(w, r)
}

// checkIdempotencyKey applies the Idempotency-Key header's rules to a key
// given in the body.
func checkIdempotencyKey(key, field string) error {
	r := &http.Request{Header: http.Header{httpapi.IdempotencyKeyHeader: {key}}}
	_, err := httpapi.IdempotencyKey(r)
	var he *httpapi.Error
	if errors.As(err, &he) {
		he.Body.Field = field
		he.Body.Message = strings.Replace(he.Body.Message, httpapi.IdempotencyKeyHeader, field, 1)
		return he
	}
	return err
}

// idempotencyKey returns the request's key: the header, or the body's
// field; both must agree when both are given.
func idempotencyKey(r *http.Request, body string) (string, error) {
	k, err := httpapi.IdempotencyKey(r)
	if err != nil {
		return "", err
	}
	if k != "" && body != "" && k != body {
		return "", invalid("idempotency_key", "exclusive", "the Idempotency-Key header and the body's idempotency_key differ; give one")
	}
	if k == "" {
		k = body
	}
	return k, nil
}

func (h *handler) postNotice(w http.ResponseWriter, r *http.Request) {
	var req NoticeRequest
	if httpapi.DecodeJSON(w, r, &req, MaxNoticeBody) != nil {
		return
	}
	key, err := idempotencyKey(r, req.IdempotencyKey)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req.IdempotencyKey = key
	a, err := h.s.SendNotice(r.Context(), httpapi.Caller(r.Context()), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if a.Replayed {
		w.Header().Set(ReplayedHeader, "true")
	}
	w.Header().Set("Location", "/v1/notices/"+a.ID)
	httpapi.WriteJSON(w, http.StatusAccepted, a)
}

// statusOptions reads ?from_part= and ?dingtalk=.
func statusOptions(r *http.Request) (StatusOptions, error) {
	var o StatusOptions
	q := r.URL.Query()
	if v := q.Get("from_part"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, invalid("from_part", "format", "from_part must be a part number from 1, got %q", truncate(v, 20))
		}
		o.FromPart = n
	}
	switch v := q.Get("dingtalk"); v {
	case "", "true":
	case "false":
		o.NoDingTalk = true
	default:
		return o, invalid("dingtalk", "format", "dingtalk must be true or false, got %q", truncate(v, 20))
	}
	return o, nil
}

func (h *handler) getNotice(w http.ResponseWriter, r *http.Request) {
	o, err := statusOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.s.Notice(r.Context(), r.PathValue("id"), o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
}

func (h *handler) deleteNotice(w http.ResponseWriter, r *http.Request) {
	res, err := h.s.Recall(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}

func (h *handler) postRobot(w http.ResponseWriter, r *http.Request) {
	var msg dingtalk.RobotMessage
	if httpapi.DecodeJSON(w, r, &msg, maxSmallBody) != nil {
		return
	}
	key, err := httpapi.IdempotencyKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.s.SendRobot(r.Context(), httpapi.Caller(r.Context()), r.PathValue("name"), &msg, key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if a.Replayed {
		w.Header().Set(ReplayedHeader, "true")
	}
	httpapi.WriteJSON(w, http.StatusOK, a)
}

func (h *handler) postRobotMessage(w http.ResponseWriter, r *http.Request) {
	var req RobotMessageRequest
	if httpapi.DecodeJSON(w, r, &req, MaxNoticeBody) != nil {
		return
	}
	key, err := idempotencyKey(r, req.IdempotencyKey)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req.IdempotencyKey = key
	a, err := h.s.SendRobotMessage(r.Context(), httpapi.Caller(r.Context()), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if a.Replayed {
		w.Header().Set(ReplayedHeader, "true")
	}
	w.Header().Set("Location", "/v1/robot/messages/"+a.ID)
	httpapi.WriteJSON(w, http.StatusAccepted, a)
}

func (h *handler) getRobotMessage(w http.ResponseWriter, r *http.Request) {
	o, err := statusOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.s.RobotMessage(r.Context(), r.PathValue("id"), o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
}

func (h *handler) deleteRobotMessage(w http.ResponseWriter, r *http.Request) {
	res, err := h.s.RecallRobotMessage(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}

func (h *handler) postJSAPI(w http.ResponseWriter, r *http.Request) {
	var req JSAPIConfigRequest
	if httpapi.DecodeJSON(w, r, &req, maxSmallBody) != nil {
		return
	}
	cfg, err := h.s.JSAPIConfig(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, cfg)
}

func (h *handler) postLogin(w http.ResponseWriter, r *http.Request) {
	var req LoginRequest
	if httpapi.DecodeJSON(w, r, &req, maxSmallBody) != nil {
		return
	}
	a, err := h.s.Login(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.synced(w, r)
	httpapi.WriteJSON(w, http.StatusOK, a)
}

// synced sets the mirror's sync time on a directory answer.
func (h *handler) synced(w http.ResponseWriter, r *http.Request) {
	v := "never"
	if t := h.s.SyncedAt(r.Context()); !t.IsZero() {
		v = t.UTC().Format(time.RFC3339)
	}
	w.Header().Set(MirrorSyncedAtHeader, v)
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := h.s.User(r.Context(), r.PathValue("userid"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.synced(w, r)
	httpapi.WriteJSON(w, http.StatusOK, u)
}

func (h *handler) getUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	unionid := q.Get("unionid")
	if unionid == "" {
		h.fail(w, r, invalid("unionid", "required", "GET /v1/users needs ?unionid=; a user by userid is GET /v1/users/{userid}"))
		return
	}
	u, err := h.s.UserByUnionID(r.Context(), unionid)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.synced(w, r)
	httpapi.WriteJSON(w, http.StatusOK, u)
}

func deptID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid("id", "format", "department id %q is not a positive integer (1 is the organisation)", truncate(v, 40))
	}
	return id, nil
}

func (h *handler) getDepartment(w http.ResponseWriter, r *http.Request) {
	id, err := deptID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := h.s.Department(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.synced(w, r)
	httpapi.WriteJSON(w, http.StatusOK, d)
}

func (h *handler) getMembers(w http.ResponseWriter, r *http.Request) {
	id, err := deptID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	recursive := false
	switch v := q.Get("recursive"); v {
	case "", "false":
	case "true":
		recursive = true
	default:
		h.fail(w, r, invalid("recursive", "format", "recursive must be true or false, got %q", truncate(v, 20)))
		return
	}
	size := 0
	if v := q.Get("limit"); v != "" {
		if size, err = strconv.Atoi(v); err != nil {
			h.fail(w, r, invalid("limit", "format", "limit must be a number, got %q", truncate(v, 20)))
			return
		}
	}
	p, err := h.s.Members(r.Context(), id, recursive, q.Get("cursor"), size)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.synced(w, r)
	httpapi.WriteJSON(w, http.StatusOK, p)
}

func (h *handler) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(OpenAPI)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(OpenAPI)
	}
}
