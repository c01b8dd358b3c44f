// Package backend opens the store.Store a deployment is configured for:
// Tablestore in production, a Redis the team already runs, a bbolt file
// locally, memory in tests. It takes a plain Spec so that it does not
// depend on how configuration is read.
//
// A binary links only the backends it can be asked to open. A build for a
// platform (the build tag dingfn.fc or dingfn.lambda, as the Makefile
// makes every deployed artifact) links the backends named by the tags
// dingfn.tablestore, dingfn.redis, dingfn.bolt and dingfn.memory (the
// Makefile's STORES); any other build, such as `go run`, links all four.
// Kinds lists what a binary has; Check and Open refuse the others with
// ErrNotBuilt.
package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/redisstore/redisurl"
)

// The backend kinds, the values of DINGFN_STORE without the bolt path or
// the Redis URL.
const (
	Memory     = "memory"
	Bolt       = "bolt"
	Tablestore = "tablestore"
	Redis      = "redis"
)

// Tag returns the build tag that puts backend kind into a platform build:
// "dingfn." + kind.
func Tag(kind string) string { return "dingfn." + kind }

// ErrNotBuilt is the error of a backend this binary was built without.
var ErrNotBuilt = errors.New("backend: store not in this build")

// Credentials are the Alibaba Cloud credentials Tablestore requests are
// signed with.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// String hides the secrets, so that logging Credentials by mistake leaks nothing.
func (c Credentials) String() string {
	return fmt.Sprintf("backend.Credentials{AccessKeyID: %q, AccessKeySecret: [redacted], SecurityToken: [redacted]}", c.AccessKeyID)
}

// GoString keeps %#v from printing the secrets.
func (c Credentials) GoString() string { return c.String() }

// CredentialsFunc returns the credentials to sign the next request with.
type CredentialsFunc func() Credentials

// Spec says which store to open; config.Store maps onto it field by field.
type Spec struct {
	// Kind is Memory, Bolt, Tablestore or Redis.
	Kind string
	// Path is the bolt file (Bolt only).
	Path string
	// URL is the redis:// or rediss:// URL and Password the password
	// when the URL has none (Redis only; see redisstore.ParseURL).
	URL      string
	Password string
	// Endpoint, Instance and the credentials select the Tablestore
	// instance (Tablestore only).
	Endpoint        string
	Instance        string
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	// TablePrefix is prepended to every table name; "" means
	// store.DefaultTablePrefix.
	TablePrefix string
	// SharedTables keep store.DefaultTablePrefix whatever TablePrefix says,
	// so deployments with different prefixes on one Tablestore instance or
	// one Redis share them (the token cache). Local backends are scoped by
	// their file or process anyway and ignore it.
	SharedTables []string
	// Credentials, when set, is asked for the Tablestore credentials on
	// every request, so credentials the platform rotates are followed;
	// AccessKeyID, AccessKeySecret and SecurityToken are then only the
	// initial values.
	Credentials CredentialsFunc
	// Clock drives expiry; nil means time.Now.
	Clock store.Clock
	// Logger receives the backend's rare operational messages (table
	// creation, Redis connection trouble); nil discards them, except that
	// the Redis client then writes its own to standard error.
	Logger *slog.Logger
}

// String describes s without its secrets.
func (s Spec) String() string {
	switch s.Kind {
	case Bolt:
		return fmt.Sprintf("bolt:%s (prefix %q)", s.Path, s.prefix())
	case Tablestore:
		return fmt.Sprintf("tablestore %s instance %s (prefix %q)", s.Endpoint, s.Instance, s.prefix())
	case Redis:
		return fmt.Sprintf("%s (prefix %q)", redisurl.Redact(s.URL), s.prefix())
	default:
		return fmt.Sprintf("%s (prefix %q)", s.Kind, s.prefix())
	}
}

// GoString keeps %#v from printing the secrets too.
func (s Spec) GoString() string { return s.String() }

// LogValue keeps slog from printing the secrets.
func (s Spec) LogValue() slog.Value { return slog.StringValue(s.String()) }

func (s Spec) prefix() string {
	if s.TablePrefix == "" {
		return store.DefaultTablePrefix
	}
	return s.TablePrefix
}

// kind is one backend as this build has it: built says whether its code is
// linked (constants set by the tagged files); open and check are stubs
// that are never called when it is not.
type kind struct {
	name  string
	built bool
	open  func(context.Context, Spec) (store.Store, error)
	check func(Spec) error
}

func kinds() []kind {
	return []kind{
		{Tablestore, tablestoreBuilt, openTablestore, nil},
		{Redis, redisBuilt, openRedis, checkRedis},
		{Bolt, boltBuilt, openBolt, nil},
		{Memory, memoryBuilt, openMemory, nil},
	}
}

// Kinds returns the backend kinds this binary was built with, in the
// order tablestore, redis, bolt, memory.
func Kinds() []string {
	var out []string
	for _, k := range kinds() {
		if k.built {
			out = append(out, k.name)
		}
	}
	return out
}

// lookup returns spec's backend, or an error matching ErrNotBuilt or
// store.ErrInvalid.
func lookup(spec Spec) (kind, error) {
	for _, k := range kinds() {
		if k.name != spec.Kind {
			continue
		}
		if !k.built {
			return kind{}, fmt.Errorf("%w: this binary was built for a platform with the stores %s only; the %s store needs a build with the tag %s (make STORES=\"... %s\")",
				ErrNotBuilt, strings.Join(Kinds(), ", "), k.name, Tag(k.name), k.name)
		}
		return k, nil
	}
	return kind{}, fmt.Errorf("backend: %w: store kind %q is not %s, %s, %s or %s", store.ErrInvalid, spec.Kind, Tablestore, Redis, Bolt, Memory)
}

// Check reports, without opening anything, whether Open could open a
// store of spec's kind in this binary and, for Redis, whether the URL and
// password are usable (redisstore.ParseURL). Errors match ErrNotBuilt or
// store.ErrInvalid, and never show a password.
func Check(spec Spec) error {
	k, err := lookup(spec)
	if err != nil {
		return err
	}
	if k.check != nil {
		return k.check(spec)
	}
	return nil
}

// Open opens the store spec describes. ctx bounds any I/O done while
// opening; the returned store outlives it. The caller closes the store.
func Open(ctx context.Context, spec Spec) (store.Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := lookup(spec)
	if err != nil {
		return nil, err
	}
	return k.open(ctx, spec)
}
