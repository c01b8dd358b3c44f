// Package redact hides the values of secrets (DingTalk access tokens and
// tickets, app and corp secrets, the callback token and AES key, API keys,
// STS credentials, signatures and one-time login codes) in text that is
// about to be logged or returned, while keeping the rest of the text
// readable.
//
// It holds dingfn's one list of secret names: the platform adapter's
// catch-all for error texts ([String]) and the DingTalk client's URL
// sanitiser ([URL], [Query]) both read it, so a name added here is hidden
// everywhere. It imports nothing beyond the standard library, so any
// package may use it.
package redact

import (
	"net/url"
	"strings"
	"sync"
)

// Placeholder replaces every redacted value.
const Placeholder = "REDACTED"

// secret is one secret name, written in snake_case: a query parameter,
// JSON key, header or environment-variable suffix whose value is a secret.
// It matches in any case and with "_", "-" or nothing between its words, so
// access_token covers accessToken, AccessToken and access-token.
type secret struct {
	name string
	// queryOnly names are secret as query parameters (DingTalk's OAuth
	// redirect carries ?code=) but too common as words elsewhere
	// ({"code":"InvalidAuthentication"} must stay readable).
	queryOnly bool
	// header names are HTTP headers, the only names a secret follows after
	// ": " (as in "Authorization: Bearer …"); elsewhere "name: word" is
	// ordinary prose, such as an API path followed by its error.
	header bool
}

// secrets is the list. Generic words (token, secret, ticket, password)
// also catch prefixed forms such as DINGTALK_CALLBACK_TOKEN=… and
// suite_ticket=….
var secrets = [...]secret{
	{name: "access_token"},
	{name: "x_acs_dingtalk_access_token", header: true},
	{name: "authorization", header: true},
	{name: "proxy_authorization", header: true},
	{name: "token"},
	{name: "jsapi_ticket"},
	{name: "suite_ticket"},
	{name: "ticket"},
	{name: "secret"},
	{name: "app_secret"},
	{name: "corp_secret"},
	{name: "client_secret"},
	{name: "suite_secret"},
	{name: "access_key_secret"},
	{name: "security_token"},
	{name: "x_acs_security_token", header: true},
	{name: "api_key"},
	{name: "api_keys"},
	{name: "robots"}, // DINGFN_ROBOTS: robots' webhook tokens and signing secrets
	{name: "aes_key"},
	{name: "encoding_aes_key"},
	{name: "password"},
	{name: "signature"},
	{name: "sign"},
	{name: "msg_signature"},
	{name: "tmp_auth_code"},
	{name: "auth_code"},
	{name: "code", queryOnly: true},
	// A received robot message's session webhook: its session is the
	// credential (…/robot/sendBySession?session=…).
	{name: "session"},
	{name: "session_webhook"},
}

// normalize folds a name to the form the list is compared in: lower case,
// without "_" and "-".
func normalize(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '_' || r == '-':
			return -1
		case 'A' <= r && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, name)
}

// byNormalName indexes secrets by normalized name. It and textNames are
// built on first use, not at start: every function binary links this
// package, and most cold starts never redact anything.
var byNormalName = sync.OnceValue(func() map[string]secret {
	m := make(map[string]secret, len(secrets))
	for _, s := range secrets {
		m[normalize(s.name)] = s
	}
	return m
})

// IsSecretParam reports whether a query parameter named name carries a
// secret: an exact match of a listed name, in any case and separator
// style.
func IsSecretParam(name string) bool {
	_, ok := byNormalName()[normalize(name)]
	return ok
}

// Query returns the raw query string with the values of secret parameters
// replaced by Placeholder; everything else, encoding included, is kept as
// it was, so the result still reads as the request that was sent.
func Query(raw string) string {
	if raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, found := strings.Cut(p, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			key = k
		}
		if found && IsSecretParam(key) {
			parts[i] = k + "=" + Placeholder
		}
	}
	return strings.Join(parts, "&")
}

// URL renders u with the values of secret query parameters replaced (like
// go-github's sanitizeURL) and any password in its user information
// hidden. A nil u renders as "".
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := *u
	v.RawQuery = Query(u.RawQuery)
	if _, ok := v.User.Password(); ok {
		v.User = url.UserPassword(v.User.Username(), Placeholder)
	}
	return v.String()
}

// textNames returns the normalized names String looks for, all but the
// query-only ones, and the length of the longest.
var textNames = sync.OnceValues(func() (map[string]bool, int) {
	m, longest := map[string]bool{}, 0
	for _, s := range secrets {
		if !s.queryOnly {
			n := normalize(s.name)
			m[n], longest = true, max(longest, len(n))
		}
	}
	return m, longest
})

// isIdent reports whether c (ASCII lower-cased) can be part of a name as
// written: letters, digits, "_" and "-".
func isIdent(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

// findName looks in the identifier low[i:j] for a listed name that ends
// where the identifier ends and starts at its start or after a "_" or "-"
// inside it (DINGTALK_APP_SECRET holds app_secret, x-acs-dingtalk-access-token
// is a name itself). It returns where the longest such name starts, or -1.
// scratch is reused between calls.
func findName(low []byte, i, j int, scratch *[]byte) int {
	// The identifier without separators; n counts the bytes of norm
	// before low[k], so norm[n:] is the suffix starting at k.
	norm := (*scratch)[:0]
	for k := i; k < j; k++ {
		if c := low[k]; c != '_' && c != '-' {
			norm = append(norm, c)
		}
	}
	*scratch = norm
	names, longest := textNames()
	n := 0
	for k := i; k < j; k++ {
		if k == i || low[k-1] == '_' || low[k-1] == '-' {
			if len(norm)-n <= longest && names[string(norm[n:])] {
				return k
			}
		}
		if c := low[k]; c != '_' && c != '-' {
			n++
		}
	}
	return -1
}

// Value forms, as secretValue tells them apart.
const (
	formNone   = iota
	formJSON   // "name": value
	formAssign // name=value
	formHeader // Header: value
	formStruct // name:value
)

// secretValue decides whether the name at low[ns:ne] (found by findName)
// is where a secret is written, and if so returns where its value starts
// and in which form. Each form refuses the shapes that only look like one:
//
//   - "name": … (a JSON key): the name is quoted on both sides, so the end
//     of a quoted URL ("…/oauth2/accessToken": dial tcp …) is not a key;
//   - name=… (a query, form or environment assignment): the name does not
//     continue a word ("design=" is not "sign="); a "_" before it is
//     allowed so DINGTALK_APP_SECRET=… is caught;
//   - Header: … (with a space, as HTTP headers are written): only header
//     names, and not after "/", "." or a word character, so an API path
//     word followed by its error ("v1.0/oauth2/accessToken: HTTP 400",
//     "get_jsapi_ticket: dial tcp") keeps every word;
//   - name:… (Go's %+v of a struct, {AccessToken:abc}): no space after the
//     colon, not after "/", "." or a word character.
func secretValue(low []byte, ns, ne int) (start, form int) {
	var prev byte
	if ns > 0 {
		prev = low[ns-1]
	}
	after := skipSpace(low, ne)
	switch {
	case prev == '"' && ne < len(low) && low[ne] == '"':
		if i := skipSpace(low, ne+1); i < len(low) && low[i] == ':' {
			return skipSpace(low, i+1), formJSON
		}
	case after < len(low) && low[after] == '=':
		if !isAlnum(prev) {
			return skipSpace(low, after+1), formAssign
		}
	case after < len(low) && low[after] == ':':
		if isWord(prev) || prev == '/' || prev == '.' || prev == '-' {
			return 0, formNone
		}
		if byNormalName()[normalize(string(low[ns:ne]))].header {
			return skipSpace(low, after+1), formHeader
		}
		if after == ne {
			return ne + 1, formStruct
		}
	}
	return 0, formNone
}

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isWord(c byte) bool { return isAlnum(c) || c == '_' }

// skipSpace returns the index of the first byte at or after i that is not
// white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n' || b[i] == '\f') {
		i++
	}
	return i
}

// String hides secret values inside s: tokens and tickets in URLs, JSON
// and headers, app and corp secrets, the AES key, STS tokens, signatures
// and login codes. Only the value is replaced, by Placeholder; the name
// and every other word stay, so an error remains readable after
// redaction. A quoted value is replaced whole, inside its quotes;
// "Bearer " before a value goes with it.
//
// It is a second line of defence, applied to every error text the platform
// adapter logs or returns, behind clients that should never put a secret
// into an error in the first place.
func String(s string) string {
	// Names are found in an ASCII-lower-cased copy: same length, same
	// offsets.
	low := asciiLower(s)
	var b strings.Builder
	var scratch []byte
	done := 0 // s[:done] has been written
	for i := 0; i < len(low); {
		if !isIdent(low[i]) {
			i++
			continue
		}
		j := i
		for j < len(low) && isIdent(low[j]) {
			j++
		}
		next := j
		if ns := findName(low, i, j, &scratch); ns >= 0 {
			if end := redactValue(&b, s, low, ns, j, done); end > done {
				done, next = end, max(end, j)
			}
		}
		i = next
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// redactValue writes s[done:] up to the value of the name at low[ns:ne],
// and Placeholder for the value, if a secret is written there; it returns
// where the value ends, or done when there is none.
func redactValue(b *strings.Builder, s string, low []byte, ns, ne, done int) int {
	start, form := secretValue(low, ns, ne)
	if form == formNone || start < done {
		return done
	}
	// An assigned value may be a comma-separated list
	// (NOTIFY_API_KEYS=k1,k2); elsewhere a comma ends it.
	stop := " \t\r\n&\",}"
	if form == formAssign {
		stop = " \t\r\n&\"}"
	}
	end, quoted := valueEnd(s, start, stop)
	if end == start {
		return done
	}
	vstart := start
	if quoted {
		vstart++ // keep the opening quote
	} else if rest := s[start:]; len(rest) > 7 && strings.EqualFold(rest[:7], "bearer ") {
		// "Bearer <key>": the scheme goes with the key, which may be the
		// one word after it.
		if e, _ := valueEnd(s, start+7+countSpaces(rest[7:]), stop); e > start+7 {
			end = e
		}
	}
	if b.Len() == 0 {
		b.Grow(len(s))
	}
	b.WriteString(s[done:vstart])
	b.WriteString(Placeholder)
	if quoted {
		b.WriteByte('"')
	}
	return end
}

func countSpaces(s string) int {
	n := 0
	for n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

// valueEnd returns where the value starting at s[start] ends, and whether
// it is a double-quoted string (then the end is past the closing quote).
// An unquoted value ends at a byte in stop. An empty value (end == start)
// is not redacted.
func valueEnd(s string, start int, stop string) (int, bool) {
	if start >= len(s) {
		return start, false
	}
	if s[start] == '"' {
		for i := start + 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
		return len(s), true // unterminated: hide the rest
	}
	i := start
	for i < len(s) && strings.IndexByte(stop, s[i]) < 0 {
		i++
	}
	return i, false
}

// asciiLower returns s with A-Z lower-cased and every other byte kept.
func asciiLower(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return b
}
