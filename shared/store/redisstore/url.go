package redisstore

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/dingfn/dingfn/shared/store"
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
	u, err := url.Parse(rawURL)
	secrets := []string{urlPassword(rawURL)}
	if err == nil {
		p, _ := u.User.Password()
		secrets = append(secrets, p)
	}
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		for _, s := range secrets {
			if s != "" {
				msg = strings.ReplaceAll(msg, s, redacted)
			}
		}
		return fmt.Errorf("redisstore: %w: %s in %s", store.ErrInvalid, msg, Redact(rawURL))
	}
	if err != nil {
		// url.Error repeats the whole URL; keep only the reason.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return nil, fail("malformed URL (%v)", err)
	}
	switch {
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return nil, fail("scheme %q is not redis or rediss", u.Scheme)
	case u.Opaque != "" || u.Host == "":
		return nil, fail("no host")
	case u.Hostname() == "":
		return nil, fail("empty host name")
	case u.Fragment != "":
		return nil, fail("unexpected #fragment")
	case u.Query().Has("max_retries"):
		return nil, fail("max_retries is not supported: the store never replays a write whose reply was lost")
	case u.Query().Has("password") || u.Query().Has("username") || u.Query().Has("addr"):
		return nil, fail("the address, user and password go in the URL's host and user info, not its query")
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != p {
			return nil, fail("port %q is not 1-65535", p)
		}
	}
	if _, has := u.User.Password(); has && password != "" {
		return nil, fail("the URL has a password and DINGFN_REDIS_PASSWORD is set too; keep one")
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fail("%v", strings.TrimPrefix(err.Error(), "redis: "))
	}
	if password != "" {
		o.Password = password
	}
	return o, nil
}

const redacted = "xxxxx"

// Redact returns rawURL with its password replaced by xxxxx, for messages
// and logs; a string that does not parse is redacted by its shape.
func Redact(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
		// ParseURL rejects a password in the query, but the message
		// saying so must not show it either.
		if q := u.Query(); q.Has("password") {
			q.Set("password", redacted)
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	if p := urlPassword(rawURL); p != "" {
		return strings.Replace(rawURL, p, redacted, 1)
	}
	return rawURL
}

// urlPassword finds the password in scheme://user:password@host… by its
// shape alone, for text that url.Parse rejects.
func urlPassword(raw string) string {
	rest, ok := strings.CutPrefix(raw[strings.Index(raw, ":")+1:], "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return ""
	}
	return pw
}

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
