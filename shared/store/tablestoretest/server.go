package tablestoretest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

// Server is a Tablestore emulator listening on a loopback address, in the
// manner of httptest.Server.
type Server struct {
	// URL is the endpoint to give the SDK, e.g. http://127.0.0.1:34567.
	URL string

	emu *emulator
	hs  *httptest.Server
}

// Option configures an emulator. An invalid option makes NewServer panic
// and ListenAndServe and Serve fail.
type Option func(*config) error

type config struct {
	dataFile        string
	clock           func() time.Time
	logger          *slog.Logger
	accessKeyID     string
	accessKeySecret string
	faults          func(op string) (Fault, bool)
}

// WithAccessKey makes the emulator verify requests as the service does:
// x-ots-accesskeyid must be id and x-ots-signature the HMAC-SHA1 signature
// under secret, else 403 OTSAuthFailed. By default any credentials pass.
func WithAccessKey(id, secret string) Option {
	return func(c *config) error {
		if id == "" || secret == "" {
			return errors.New("WithAccessKey: empty id or secret")
		}
		c.accessKeyID, c.accessKeySecret = id, secret
		return nil
	}
}

// WithDataFile persists every table and row to path (a bbolt file, created
// when absent) and loads it at start. Each accepted write is committed to
// the file before it is acknowledged.
func WithDataFile(path string) Option {
	return func(c *config) error {
		if path == "" {
			return errors.New("WithDataFile: empty path")
		}
		c.dataFile = path
		return nil
	}
}

// WithFaults makes f choose a fault for every request FailNext's queue
// leaves unanswered (op is the request's operation, e.g. "GetRow"): a
// standalone emulator (Serve, ListenAndServe), which no FailNext reaches,
// answers busy or drops at a rate its owner chooses. f is called
// concurrently.
func WithFaults(f func(op string) (Fault, bool)) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("WithFaults: nil func")
		}
		c.faults = f
		return nil
	}
}

// WithClock sets the clock used for cell timestamps and TTL expiry.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.clock = now
		return nil
	}
}

// WithLogger sets where the emulator logs requests that it rejects and
// faults that it injects; the default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

func newConfig(opts []Option) (config, error) {
	c := config{clock: time.Now, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return config{}, err
		}
	}
	return c, nil
}

// newConfiguredEmulator applies opts and opens the emulator.
func newConfiguredEmulator(opts []Option) (*emulator, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newEmulator(cfg)
}

// NewServer starts an emulator on a loopback port. It panics if an option
// is invalid or the data file cannot be opened, as httptest.NewServer
// panics when it cannot listen; use ListenAndServe to handle those errors.
func NewServer(opts ...Option) *Server {
	emu, err := newConfiguredEmulator(opts)
	if err != nil {
		panic(fmt.Sprintf("tablestoretest: %v", err))
	}
	hs := httptest.NewServer(emu)
	return &Server{URL: hs.URL, emu: emu, hs: hs}
}

// Close shuts the server down, blocking until outstanding requests have
// completed, and closes the data file.
func (s *Server) Close() {
	s.emu.shutdown()
	s.hs.Close()
	if err := s.emu.close(); err != nil {
		s.emu.log.Error("tablestoretest: closing data file", "err", err)
	}
}

// NewClient returns an SDK client for instance pointed at s, with retry
// pauses shortened so that fault-injection tests run fast. It signs with
// the WithAccessKey credentials when given, placeholders otherwise.
//
// The SDK (v1.7.17) panics in rand.Int63n when DefaultRetryInterval is
// under 2 ms, so that is the floor used here.
func (s *Server) NewClient(instance string) *tablestore.TableStoreClient {
	cfg := tablestore.NewDefaultTableStoreConfig()
	cfg.DefaultRetryInterval = 2 * time.Millisecond
	cfg.MaxRetryInterval = 8 * time.Millisecond
	id, secret := "test-access-key-id", "test-access-key-secret"
	if s.emu.cfg.accessKeySecret != "" {
		id, secret = s.emu.cfg.accessKeyID, s.emu.cfg.accessKeySecret
	}
	return tablestore.NewClientWithConfig(s.URL, instance, id, secret, "", cfg)
}

// FailNext makes the next n requests of op (e.g. "PutRow") fail with f.
// Faults queue: a later call's faults apply after earlier ones are used.
func (s *Server) FailNext(op string, n int, f Fault) { s.emu.faults.add(op, n, f) }

// FailNextRows makes the next n rows of batch operation op ("BatchWriteRow"
// or "BatchGetRow") fail individually with f's code, while the rest of the
// batch succeeds. Only f.Code and f.Message are used.
func (s *Server) FailNextRows(op string, n int, f Fault) { s.emu.faults.add(rowFaultKey(op), n, f) }

// ClearFaults drops every fault not yet injected.
func (s *Server) ClearFaults() { s.emu.faults.clear() }

// Requests returns how many requests of op reached the server, including
// those failed by injected faults or rejected as invalid.
func (s *Server) Requests(op string) int { return s.emu.counter(op) }

// ResetRequests sets every request counter to zero.
func (s *Server) ResetRequests() { s.emu.resetCounters() }

// ListenAndServe runs a standalone emulator on addr until ctx is done, then
// shuts down gracefully and closes the data file. It is what
// `dingfn tablestore-fake` runs.
func ListenAndServe(ctx context.Context, addr string, opts ...Option) error {
	emu, err := newConfiguredEmulator(opts)
	if err != nil {
		return fmt.Errorf("tablestoretest: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return errors.Join(fmt.Errorf("tablestoretest: listen: %w", err), emu.close())
	}
	return serve(ctx, ln, emu)
}

// Serve is ListenAndServe on an existing listener, which it closes.
func Serve(ctx context.Context, ln net.Listener, opts ...Option) error {
	emu, err := newConfiguredEmulator(opts)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("tablestoretest: %w", err)
	}
	return serve(ctx, ln, emu)
}

func serve(ctx context.Context, ln net.Listener, emu *emulator) error {
	hs := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	emu.log.Info("tablestore emulator listening", "addr", ln.Addr().String(), "data_file", emu.cfg.dataFile)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		emu.shutdown()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, emu.close())
}

// Fault is an injected failure.
type Fault struct {
	// Status is the HTTP status of the error response; zero means 500.
	Status int
	// Code and Message form the otsprotocol.Error body.
	Code    string
	Message string
	// Raw sends Message as a plain-text body instead of a protobuf error,
	// as a load balancer in front of Tablestore would.
	Raw bool
	// Drop closes the connection without any response.
	Drop bool
	// Hang holds the request without answering until the client gives up
	// (its HTTP timeout) or the server closes: a network timeout.
	Hang bool
	// AfterApply performs the operation before failing, so the client
	// cannot tell whether its write happened: the lost-response case.
	AfterApply bool
}

// Injectable faults with the codes and statuses the real service uses.
var (
	ServerBusy        = Fault{Status: http.StatusServiceUnavailable, Code: "OTSServerBusy", Message: "Server is busy."}
	Timeout           = Fault{Status: http.StatusServiceUnavailable, Code: "OTSTimeout", Message: "Operation timeout."}
	InternalError     = Fault{Status: http.StatusInternalServerError, Code: "OTSInternalServerError", Message: "Internal server error."}
	ServerUnavailable = Fault{Status: http.StatusServiceUnavailable, Code: "OTSServerUnavailable", Message: "Server is unavailable."}
	RowConflict       = Fault{Status: http.StatusConflict, Code: "OTSRowOperationConflict", Message: "Data is being modified by the other request."}
	QuotaExhausted    = Fault{Status: http.StatusForbidden, Code: "OTSQuotaExhausted", Message: "Too frequent table operations."}
	TableNotReady     = Fault{Status: http.StatusServiceUnavailable, Code: "OTSTableNotReady", Message: "The table is not ready."}
	PartitionDown     = Fault{Status: http.StatusServiceUnavailable, Code: "OTSPartitionUnavailable", Message: "The partition is not available."}
	NotEnoughCapacity = Fault{Status: http.StatusForbidden, Code: "OTSNotEnoughCapacityUnit", Message: "Remaining capacity unit is not enough."}
	BadGateway        = Fault{Status: http.StatusBadGateway, Message: "502 Bad Gateway", Raw: true}
	DropConnection    = Fault{Drop: true}
	Hang              = Fault{Hang: true}
)

func rowFaultKey(op string) string { return op + "#row" }

type faultQueue struct {
	mu sync.Mutex
	q  map[string][]Fault
}

func (f *faultQueue) add(key string, n int, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.q == nil {
		f.q = map[string][]Fault{}
	}
	for range n {
		f.q[key] = append(f.q[key], fault)
	}
}

func (f *faultQueue) next(key string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.q[key]
	if len(q) == 0 {
		return Fault{}, false
	}
	f.q[key] = q[1:]
	return q[0], true
}

func (f *faultQueue) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.q = nil
}
