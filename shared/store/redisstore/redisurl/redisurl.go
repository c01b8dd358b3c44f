// Package redisurl checks and redacts the Redis URLs of DINGFN_STORE
// without linking a Redis client, so that configuration can be validated
// and described by binaries built without the Redis store.
// redisstore.ParseURL runs these checks before go-redis's own parsing.
package redisurl

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/dingfn/dingfn/shared/store"
)

// Check reports what is wrong with a Redis URL,
//
//	redis://[user[:password]@]host[:port][/db][?option=value…]
//
// (rediss:// for TLS) used with password (DINGFN_REDIS_PASSWORD, "" when
// unset): a malformed URL, another scheme, no host, a #fragment, a bad
// port, max_retries (the store never replays a write whose reply was
// lost), credentials or the address in the query, or a password both in
// the URL and in password. go-redis may still reject an option's value.
//
// Errors match store.ErrInvalid and show the URL with its password
// replaced (Redact), never the password.
func Check(rawURL, password string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the whole URL; keep only the reason.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return Invalid(rawURL, fmt.Sprintf("malformed URL (%v)", err))
	}
	fail := func(format string, args ...any) error { return Invalid(rawURL, fmt.Sprintf(format, args...)) }
	switch {
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return fail("scheme %q is not redis or rediss", u.Scheme)
	case u.Opaque != "" || u.Host == "":
		return fail("no host")
	case u.Hostname() == "":
		return fail("empty host name")
	case u.Fragment != "":
		return fail("unexpected #fragment")
	case u.Query().Has("max_retries"):
		return fail("max_retries is not supported: the store never replays a write whose reply was lost")
	case u.Query().Has("password") || u.Query().Has("username") || u.Query().Has("addr"):
		return fail("the address, user and password go in the URL's host and user info, not its query")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return fail("port %q is not 1-65535", p)
		}
	}
	if _, has := u.User.Password(); has && password != "" {
		return fail("the URL has a password and DINGFN_REDIS_PASSWORD is set too; keep one")
	}
	return nil
}

// Invalid returns the store.ErrInvalid error saying msg about rawURL, with
// any password of rawURL hidden in both.
func Invalid(rawURL, msg string) error {
	secrets := []string{urlPassword(rawURL)}
	if u, err := url.Parse(rawURL); err == nil {
		p, _ := u.User.Password()
		secrets = append(secrets, p)
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, redacted)
		}
	}
	return fmt.Errorf("redisstore: %w: %s in %s", store.ErrInvalid, msg, Redact(rawURL))
}

const redacted = "xxxxx"

// Redact returns rawURL with its password replaced by xxxxx, for messages
// and logs; a string that does not parse is redacted by its shape.
func Redact(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
		// Check rejects a password in the query, but the message saying
		// so must not show it either.
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
