// Package backend opens the store.Store a deployment is configured for:
// Tablestore in production, a Redis the team already runs, a bbolt file
// locally, memory in tests. It takes a plain Spec so that it does not
// depend on how configuration is read.
package backend

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/boltstore"
	"github.com/dingfn/dingfn/shared/store/memstore"
	"github.com/dingfn/dingfn/shared/store/otsstore"
	"github.com/dingfn/dingfn/shared/store/redisstore"
)

// The backend kinds, the values of DINGFN_STORE without the bolt path or
// the Redis URL.
const (
	Memory     = "memory"
	Bolt       = "bolt"
	Tablestore = "tablestore"
	Redis      = "redis"
)

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
	Credentials otsstore.CredentialsFunc
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
		return fmt.Sprintf("%s (prefix %q)", redisstore.Redact(s.URL), s.prefix())
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

// Open opens the store spec describes. ctx bounds any I/O done while
// opening; the returned store outlives it. The caller closes the store.
func Open(ctx context.Context, spec Spec) (store.Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch spec.Kind {
	case Memory:
		opts := []memstore.Option{memstore.WithTablePrefix(spec.prefix())}
		if spec.Clock != nil {
			opts = append(opts, memstore.WithClock(spec.Clock))
		}
		return memstore.New(opts...)
	case Bolt:
		opts := []boltstore.Option{boltstore.WithTablePrefix(spec.prefix())}
		if spec.Clock != nil {
			opts = append(opts, boltstore.WithClock(spec.Clock))
		}
		return boltstore.Open(spec.Path, opts...)
	case Tablestore:
		client, err := otsstore.NewClientFunc(spec.Endpoint, spec.Instance, otsstore.Credentials{
			AccessKeyID:     spec.AccessKeyID,
			AccessKeySecret: spec.AccessKeySecret,
			SecurityToken:   spec.SecurityToken,
		}, spec.Credentials)
		if err != nil {
			return nil, err
		}
		opts := []otsstore.Option{otsstore.WithTablePrefix(spec.prefix()), otsstore.WithSharedTables(spec.SharedTables...)}
		if spec.Clock != nil {
			opts = append(opts, otsstore.WithClock(spec.Clock))
		}
		if spec.Logger != nil {
			opts = append(opts, otsstore.WithLogger(spec.Logger))
		}
		return otsstore.New(client, opts...)
	case Redis:
		o, err := redisstore.ParseURL(spec.URL, spec.Password)
		if err != nil {
			return nil, err
		}
		opts := []redisstore.Option{redisstore.WithTablePrefix(spec.prefix()), redisstore.WithSharedTables(spec.SharedTables...)}
		if spec.Clock != nil {
			opts = append(opts, redisstore.WithClock(spec.Clock))
		}
		if spec.Logger != nil {
			opts = append(opts, redisstore.WithLogger(spec.Logger))
		}
		return redisstore.Open(ctx, o, opts...)
	default:
		return nil, fmt.Errorf("backend: %w: store kind %q is not %s, %s, %s or %s", store.ErrInvalid, spec.Kind, Tablestore, Redis, Bolt, Memory)
	}
}
