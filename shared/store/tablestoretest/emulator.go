package tablestoretest

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"
	bolt "go.etcd.io/bbolt"
)

// Limits of the real service that the emulator enforces.
const (
	maxRequestBytes    = 5 << 20 // whole request body
	maxCellBytes       = 2 << 20 // string or binary attribute value
	maxPKBytes         = 1024    // string or binary primary-key value
	maxPKColumns       = 4
	maxNameBytes       = 255
	maxColumnsPerWrite = 1024
	maxBatchWriteRows  = 200
	maxBatchGetRows    = 100
	maxRangeRows       = 5000    // rows scanned by one GetRange
	maxRangeBytes      = 4 << 20 // data returned by one GetRange
	apiVersion         = "2015-12-31"
	maxDateSkew        = 15 * time.Minute
)

// requiredHeaders are the headers the service rejects a request without.
var requiredHeaders = []string{
	"x-ots-date", "x-ots-apiversion", "x-ots-accesskeyid",
	"x-ots-contentmd5", "x-ots-instancename", "x-ots-signature",
}

type emulator struct {
	cfg    config
	log    *slog.Logger
	faults faultQueue

	cmu    sync.Mutex
	counts map[string]int

	nonce string
	seq   atomic.Uint64

	done     chan struct{} // closed at shutdown; releases hanging requests
	doneOnce sync.Once

	mu        sync.Mutex // guards everything below; every operation is atomic
	instances map[string]map[string]*table
	db        *bolt.DB
}

func newEmulator(cfg config) (*emulator, error) {
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	e := &emulator{
		cfg:       cfg,
		log:       cfg.logger,
		counts:    map[string]int{},
		nonce:     hex.EncodeToString(nonce[:]),
		instances: map[string]map[string]*table{},
		done:      make(chan struct{}),
	}
	if cfg.dataFile != "" {
		if err := e.open(cfg.dataFile); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *emulator) shutdown() { e.doneOnce.Do(func() { close(e.done) }) }

func (e *emulator) close() error {
	e.shutdown()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.db == nil {
		return nil
	}
	err := e.db.Close()
	e.db = nil
	return err
}

func (e *emulator) counter(op string) int {
	e.cmu.Lock()
	defer e.cmu.Unlock()
	return e.counts[op]
}

func (e *emulator) resetCounters() {
	e.cmu.Lock()
	defer e.cmu.Unlock()
	clear(e.counts)
}

// otsError is an error response of the Tablestore protocol.
type otsError struct {
	status  int
	code    string
	message string
}

func (e *otsError) Error() string { return e.code + ": " + e.message }

func invalid(format string, args ...any) *otsError {
	return &otsError{http.StatusBadRequest, "OTSParameterInvalid", fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) *otsError {
	return &otsError{http.StatusBadRequest, "OTSUnsupportOperation", fmt.Sprintf(format, args...)}
}

func internalError(err error) *otsError {
	return &otsError{http.StatusInternalServerError, "OTSInternalServerError", "Internal server error: " + err.Error()}
}

var (
	errTableNotExist  = &otsError{http.StatusNotFound, "OTSObjectNotExist", "Requested table does not exist."}
	errTableExist     = &otsError{http.StatusConflict, "OTSObjectAlreadyExist", "Requested table already exists."}
	errConditionCheck = &otsError{http.StatusForbidden, "OTSConditionCheckFail", "Condition check failed."}
	errWideRowToken   = unsupported("Wide-row tokens are not supported by the emulator.")
)

func (e *emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.URL.Path, "/")
	e.cmu.Lock()
	e.counts[op]++
	e.cmu.Unlock()
	reqID := fmt.Sprintf("%s-%08x", e.nonce, e.seq.Add(1))

	body, oerr := e.readRequest(r)
	fault, faulted := Fault{}, false
	if oerr == nil {
		fault, faulted = e.faults.next(op)
		if !faulted && e.cfg.faults != nil {
			fault, faulted = e.cfg.faults(op)
		}
	}
	if faulted && !fault.AfterApply {
		e.inject(w, r, op, reqID, fault)
		return
	}
	var resp proto.Message
	if oerr == nil {
		resp, oerr = e.dispatch(op, r.Header.Get("x-ots-instancename"), body)
	}
	if faulted {
		e.inject(w, r, op, reqID, fault)
		return
	}
	if oerr != nil {
		e.log.Debug("tablestore emulator: request rejected", "op", op, "request_id", reqID, "code", oerr.code, "message", oerr.message)
		writeError(w, reqID, oerr)
		return
	}
	out, err := proto.Marshal(resp)
	if err != nil {
		// A required field left unset is an emulator bug; say so loudly.
		e.log.Error("tablestore emulator: encoding response", "op", op, "err", err)
		writeError(w, reqID, internalError(err))
		return
	}
	e.log.Debug("tablestore emulator: request served", "op", op, "request_id", reqID, "instance", r.Header.Get("x-ots-instancename"))
	writeBody(w, reqID, http.StatusOK, out)
}

// readRequest checks what the service checks before looking at the body,
// with the codes and messages of its documented HTTP errors.
func (e *emulator) readRequest(r *http.Request) ([]byte, *otsError) {
	if r.Method != http.MethodPost {
		return nil, &otsError{http.StatusMethodNotAllowed, "OTSMethodNotAllowed", "Only POST method for requests is supported."}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return nil, invalid("Reading request body: %v.", err)
	}
	if len(body) > maxRequestBytes {
		return nil, &otsError{http.StatusRequestEntityTooLarge, "OTSRequestBodyTooLarge", "The size of POST data is too large."}
	}
	for _, h := range requiredHeaders {
		if r.Header.Get(h) == "" {
			return nil, invalid("Missing header: '%s'.", h)
		}
	}
	date := r.Header.Get("x-ots-date")
	// The SDK formats the date with the layout "2006-01-02T15:04:05.123Z",
	// whose ".123" Go reads as month, day and hour: only the part up to the
	// seconds is meaningful.
	sent, err := time.Parse("2006-01-02T15:04:05", date[:min(len(date), 19)])
	if err != nil {
		return nil, invalid("Invalid date format: %s.", date)
	}
	if v := r.Header.Get("x-ots-apiversion"); v != apiVersion {
		return nil, invalid("Unsupported API version: '%s'.", v)
	}
	if c := r.Header.Get("x-ots-request-compress-type"); c != "" {
		return nil, unsupported("Request compression %q is not supported by the emulator.", c)
	}
	sum := md5.Sum(body)
	if r.Header.Get("x-ots-contentmd5") != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, &otsError{http.StatusForbidden, "OTSAuthFailed", "Mismatch between MD5 value of request body and x-ots-contentmd5 in header."}
	}
	if e.cfg.accessKeySecret != "" {
		// The service's window; wall time, as the SDK stamps wall time
		// whatever clock the emulator was given.
		if d := time.Since(sent); d > maxDateSkew || d < -maxDateSkew {
			return nil, &otsError{http.StatusForbidden, "OTSAuthFailed", "Mismatch between system time and x-ots-date: " + date + "."}
		}
		if oerr := e.verifySignature(r); oerr != nil {
			return nil, oerr
		}
	}
	return body, nil
}

// verifySignature checks x-ots-signature: base64(HMAC-SHA1(secret,
// path "\n" method "\n" "\n" + each x-ots-* header but the signature, sorted,
// as "name:value\n")).
func (e *emulator) verifySignature(r *http.Request) *otsError {
	if r.Header.Get("x-ots-accesskeyid") != e.cfg.accessKeyID {
		return &otsError{http.StatusForbidden, "OTSAuthFailed", "The AccessKeyID does not exist."}
	}
	var names []string
	for name := range r.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-ots-") && lower != "x-ots-signature" {
			names = append(names, lower)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString(r.URL.Path + "\n" + r.Method + "\n\n")
	for _, name := range names {
		b.WriteString(name + ":" + strings.TrimSpace(r.Header.Get(name)) + "\n")
	}
	mac := hmac.New(sha1.New, []byte(e.cfg.accessKeySecret))
	mac.Write([]byte(b.String()))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("x-ots-signature"))) {
		return &otsError{http.StatusForbidden, "OTSAuthFailed", "Signature mismatch."}
	}
	return nil
}

func (e *emulator) inject(w http.ResponseWriter, r *http.Request, op, reqID string, f Fault) {
	e.log.Info("tablestore emulator: injecting fault", "op", op, "code", f.Code, "status", f.Status,
		"drop", f.Drop, "hang", f.Hang, "after_apply", f.AfterApply)
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-e.done:
		}
		f.Drop = true
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	if f.Raw {
		writeBody(w, reqID, f.Status, []byte(f.Message))
		return
	}
	writeError(w, reqID, &otsError{f.Status, f.Code, f.Message})
}

func writeError(w http.ResponseWriter, reqID string, oerr *otsError) {
	b, err := proto.Marshal(&otsprotocol.Error{Code: proto.String(oerr.code), Message: proto.String(oerr.message)})
	if err != nil {
		b = []byte(oerr.Error())
	}
	writeBody(w, reqID, oerr.status, b)
}

// writeBody sets the response headers the service sends with every reply.
func writeBody(w http.ResponseWriter, reqID string, status int, body []byte) {
	sum := md5.Sum(body)
	h := w.Header()
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("x-ots-requestid", reqID)
	h.Set("x-ots-date", nowHeader())
	h.Set("x-ots-contentmd5", base64.StdEncoding.EncodeToString(sum[:]))
	h.Set("x-ots-contenttype", "protocol buffer")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type handlerFunc func(e *emulator, instance string, body []byte) (proto.Message, *otsError)

var handlers = map[string]handlerFunc{
	"CreateTable":   (*emulator).createTable,
	"ListTable":     (*emulator).listTable,
	"DescribeTable": (*emulator).describeTable,
	"DeleteTable":   (*emulator).deleteTable,
	"UpdateTable":   (*emulator).updateTable,
	"PutRow":        (*emulator).putRow,
	"GetRow":        (*emulator).getRow,
	"UpdateRow":     (*emulator).updateRow,
	"DeleteRow":     (*emulator).deleteRow,
	"GetRange":      (*emulator).getRange,
	"BatchGetRow":   (*emulator).batchGetRow,
	"BatchWriteRow": (*emulator).batchWriteRow,
}

func (e *emulator) dispatch(op, instance string, body []byte) (proto.Message, *otsError) {
	h, ok := handlers[op]
	if !ok {
		return nil, invalid("Unsupported operation: '%s'.", op)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.db == nil && e.cfg.dataFile != "" {
		return nil, internalError(errors.New("emulator is closed"))
	}
	return h(e, instance, body)
}

func unmarshal(body []byte, m proto.Message) *otsError {
	if err := proto.Unmarshal(body, m); err != nil {
		return invalid("Invalid request body: %v.", err)
	}
	return nil
}
