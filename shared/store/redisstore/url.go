package redisstore

import (
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/dingfn/dingfn/shared/store/redisstore/redisurl"
)

// ParseURL returns the client options of a Redis URL,
//
//	redis://[user[:password]@]host[:port][/db][?option=value…]
//
// with rediss:// for TLS (the server's certificate is verified against the
// host name). The options are go-redis's (dial_timeout, read_timeout,
// pool_size, …) except max_retries: the store never lets the client replay
// a write whose reply was lost, which could apply it twice or report a
// write that succeeded as a conflict. password, when not empty, is the
// password (DINGFN_REDIS_PASSWORD); a URL that has one too is rejected
// rather than silently preferring either.
//
// Errors match store.ErrInvalid and show the URL with its password
// replaced (Redact), never the password.
func ParseURL(rawURL, password string) (*redis.Options, error) {
	if err := redisurl.Check(rawURL, password); err != nil {
		return nil, err
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, redisurl.Invalid(rawURL, strings.TrimPrefix(err.Error(), "redis: "))
	}
	if password != "" {
		o.Password = password
	}
	return o, nil
}

// Redact returns rawURL with its password replaced by xxxxx, for messages
// and logs (redisurl.Redact).
func Redact(rawURL string) string { return redisurl.Redact(rawURL) }

// clientOptions is o with the settings the store relies on: no replayed
// commands (see ParseURL), context deadlines bounding every call, and no
// maintenance-notification handshake, which only managed Redis Cloud
// answers.
func clientOptions(o *redis.Options) *redis.Options {
	c := *o
	c.MaxRetries = -1
	c.ContextTimeoutEnabled = true
	c.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	return &c
}
