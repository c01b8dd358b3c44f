package notify

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/httpapi"
)

// openAPIGzip is openapi.json gzipped (go generate writes it): the
// document is ten times its compressed size, and every deployed notify
// carries it but few requests read it.
//
//go:generate go run gen_openapi.go
//go:embed openapi.json.gz
var openAPIGzip []byte

// OpenAPI returns the OpenAPI 3.1 document of notify's HTTP API, served at
// GET /v1/openapi.json. It is decompressed on the first call; the error
// is a corrupt build.
func OpenAPI() ([]byte, error) {
	// A function rather than a sync.OnceValues variable: a variable's
	// initialiser would keep the decompression in every binary that links
	// this package, though only notify serves the document.
	openAPI.once.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(openAPIGzip))
		if err == nil {
			openAPI.doc, err = io.ReadAll(zr)
		}
		if err != nil {
			openAPI.err = fmt.Errorf("notify: the embedded OpenAPI document: %w", err)
		}
	})
	return openAPI.doc, openAPI.err
}

var openAPI struct {
	once sync.Once
	doc  []byte
	err  error
}

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
		{http.MethodPost, "/v1/notices", h.serve(http.StatusAccepted, create("/v1/notices/", s.SendNotice)), false},
		{http.MethodGet, "/v1/notices/{id}", h.serve(http.StatusOK, status(s.Notice)), false},
		{http.MethodDelete, "/v1/notices/{id}", h.serve(http.StatusOK, byID(s.Recall)), false},
		{http.MethodPost, "/v1/robots/{name}/messages", h.serve(http.StatusOK, h.postRobot), false},
		{http.MethodPost, "/v1/robot/messages", h.serve(http.StatusAccepted, create("/v1/robot/messages/", s.SendRobotMessage)), false},
		{http.MethodGet, "/v1/robot/messages/{id}", h.serve(http.StatusOK, status(s.RobotMessage)), false},
		{http.MethodDelete, "/v1/robot/messages/{id}", h.serve(http.StatusOK, byID(s.RecallRobotMessage)), false},
		{http.MethodPost, "/v1/jsapi/config", h.serve(http.StatusOK, h.postJSAPI), false},
		{http.MethodPost, "/v1/login", h.serve(http.StatusOK, h.mirrored(h.postLogin)), false},
		{http.MethodGet, "/v1/users", h.serve(http.StatusOK, h.mirrored(h.getUsers)), false},
		{http.MethodGet, "/v1/users/{userid}", h.serve(http.StatusOK, h.mirrored(h.getUser)), false},
		{http.MethodGet, "/v1/departments/{id}", h.serve(http.StatusOK, h.mirrored(h.getDepartment)), false},
		{http.MethodGet, "/v1/departments/{id}/users", h.serve(http.StatusOK, h.mirrored(h.getMembers)), false},
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

// endpoint is a route's work: the value to answer with as JSON, or the
// error to answer with (errAnswered: the answer is written already).
type endpoint func(w http.ResponseWriter, r *http.Request) (any, error)

// errAnswered is an endpoint's error when it has answered already: a body
// httpapi.DecodeJSON refused.
var errAnswered = errors.New("notify: answered")

// serve answers a request with fn's value as JSON and status, or with its
// error as notify's error body.
func (h *handler) serve(status int, fn endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(w, r)
		switch {
		case errors.Is(err, errAnswered):
		case err != nil:
			h.fail(w, r, err)
		default:
			httpapi.WriteJSON(w, status, v)
		}
	}
}

// decode reads r's JSON body into v, at most limit bytes; a body it
// refuses is answered (errAnswered).
func decode(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if httpapi.DecodeJSON(w, r, v, limit) != nil {
		return errAnswered
	}
	return nil
}

// fail answers r with err as notify's error body, logging 5xx answers.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	if e.Status >= 500 {
		// The answer tells the caller to see the logs: log the cause,
		// not the answer's own text again.
		cause := err
		if e.Err != nil {
			cause = e.Err
		}
		h.s.log.ErrorContext(r.Context(), "notify: request failed", "path", r.URL.Path, "status", e.Status, "code", e.Body.Error, "err", cause)
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

// keyed is a pointer to a request that takes its idempotency key in the
// header or the body: *NoticeRequest, *RobotMessageRequest.
type keyed[R any] interface {
	*R
	bodyKey() *string
}

func (r *NoticeRequest) bodyKey() *string       { return &r.IdempotencyKey }
func (r *RobotMessageRequest) bodyKey() *string { return &r.IdempotencyKey }

// created is the answer to a request that creates a record.
type created interface {
	sendAnswer
	replayed() bool
}

func (a NoticeAnswer) replayed() bool       { return a.Replayed }
func (a RobotMessageAnswer) replayed() bool { return a.Replayed }

// create is the endpoint of a request that creates a record: the body
// decoded, its key taken from the header or the body, and send's answer
// (202) with the record's location.
func create[R any, P keyed[R], A created](location string, send func(ctx context.Context, caller string, req R) (A, error)) endpoint {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req R
		if err := decode(w, r, &req, MaxNoticeBody); err != nil {
			return nil, err
		}
		key, err := idempotencyKey(r, *P(&req).bodyKey())
		if err != nil {
			return nil, err
		}
		*P(&req).bodyKey() = key
		a, err := send(r.Context(), httpapi.Caller(r.Context()), req)
		if err != nil {
			return nil, err
		}
		markReplayed(w, a.replayed())
		id, _, _ := a.summary()
		w.Header().Set("Location", location+id)
		return a, nil
	}
}

// markReplayed says, on an answer that is the stored first answer to the
// same key, that it is.
func markReplayed(w http.ResponseWriter, replayed bool) {
	if replayed {
		w.Header().Set(ReplayedHeader, "true")
	}
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

// status is the endpoint of a record's status: the {id} with the query's
// StatusOptions.
func status[T any](get func(ctx context.Context, id string, o StatusOptions) (T, error)) endpoint {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		o, err := statusOptions(r)
		if err != nil {
			return nil, err
		}
		return answerOf(get(r.Context(), r.PathValue("id"), o))
	}
}

// byID is the endpoint of fn on the path's {id}.
func byID[T any](fn func(ctx context.Context, id string) (T, error)) endpoint {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		return answerOf(fn(r.Context(), r.PathValue("id")))
	}
}

// answerOf is an endpoint's result from a typed one.
func answerOf[T any](v T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (h *handler) postRobot(w http.ResponseWriter, r *http.Request) (any, error) {
	var msg dingtalk.RobotMessage
	if err := decode(w, r, &msg, maxSmallBody); err != nil {
		return nil, err
	}
	key, err := httpapi.IdempotencyKey(r)
	if err != nil {
		return nil, err
	}
	a, err := h.s.SendRobot(r.Context(), httpapi.Caller(r.Context()), r.PathValue("name"), &msg, key)
	if err != nil {
		return nil, err
	}
	markReplayed(w, a.Replayed)
	return a, nil
}

func (h *handler) postJSAPI(w http.ResponseWriter, r *http.Request) (any, error) {
	var req JSAPIConfigRequest
	if err := decode(w, r, &req, maxSmallBody); err != nil {
		return nil, err
	}
	return answerOf(h.s.JSAPIConfig(r.Context(), req))
}

// mirrored is fn, answered from the directory mirror: a successful answer
// says when the mirror last synced.
func (h *handler) mirrored(fn endpoint) endpoint {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		v, err := fn(w, r)
		if err == nil {
			synced := "never"
			if t := h.s.SyncedAt(r.Context()); !t.IsZero() {
				synced = t.UTC().Format(time.RFC3339)
			}
			w.Header().Set(MirrorSyncedAtHeader, synced)
		}
		return v, err
	}
}

func (h *handler) postLogin(w http.ResponseWriter, r *http.Request) (any, error) {
	var req LoginRequest
	if err := decode(w, r, &req, maxSmallBody); err != nil {
		return nil, err
	}
	return answerOf(h.s.Login(r.Context(), req))
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request) (any, error) {
	return answerOf(h.s.User(r.Context(), r.PathValue("userid")))
}

func (h *handler) getUsers(w http.ResponseWriter, r *http.Request) (any, error) {
	unionid := r.URL.Query().Get("unionid")
	if unionid == "" {
		return nil, invalid("unionid", "required", "GET /v1/users needs ?unionid=; a user by userid is GET /v1/users/{userid}")
	}
	return answerOf(h.s.UserByUnionID(r.Context(), unionid))
}

func deptID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid("id", "format", "department id %q is not a positive integer (1 is the organisation)", truncate(v, 40))
	}
	return id, nil
}

func (h *handler) getDepartment(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := deptID(r)
	if err != nil {
		return nil, err
	}
	return answerOf(h.s.Department(r.Context(), id))
}

func (h *handler) getMembers(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := deptID(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	recursive := false
	switch v := q.Get("recursive"); v {
	case "", "false":
	case "true":
		recursive = true
	default:
		return nil, invalid("recursive", "format", "recursive must be true or false, got %q", truncate(v, 20))
	}
	size := 0
	if v := q.Get("limit"); v != "" {
		if size, err = strconv.Atoi(v); err != nil {
			return nil, invalid("limit", "format", "limit must be a number, got %q", truncate(v, 20))
		}
	}
	return answerOf(h.s.Members(r.Context(), id, recursive, q.Get("cursor"), size))
}

func (h *handler) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := OpenAPI()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(doc)
	}
}
