package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// MinKeyLength is the shortest bearer key ParseKeys accepts: keys are
// meant to be long random strings (openssl rand -hex 24).
const MinKeyLength = 16

// CodeUnauthorized is the error code of Keys.Require's 401.
const CodeUnauthorized = "unauthorized"

// isKeyName reports whether s may be a key's name: short, and safe to log
// as is ([A-Za-z0-9][A-Za-z0-9_.-]{0,63}). Written out, since a
// package-level regexp is compiled at every cold start.
func isKeyName(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] == '_' || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// Keys is a set of bearer keys an API accepts, each with the caller name
// logs show for it. Build it with ParseKeys. A nil or empty *Keys accepts
// nobody. It never prints a key: String and LogValue show the names only.
type Keys struct {
	entries []keyEntry
}

type keyEntry struct {
	// name is the configured name, or a short fingerprint of the key.
	name string
	// digest is SHA-256 of the key; requests are compared by digest, so
	// every comparison takes the same time whatever the key's length.
	digest [sha256.Size]byte
}

// KeysError lists every problem ParseKeys found. No problem quotes a key
// or a name; entries are named by position.
type KeysError struct {
	Problems []string
}

// Error joins the problems.
func (e *KeysError) Error() string {
	return "bearer keys: " + strings.Join(e.Problems, "; ")
}

// ParseKeys reads a key list as configured (NOTIFY_API_KEYS): entries
// separated by commas, each either a bare key or name=key. The name (letters,
// digits, "_", "." and "-", at most 64) is what logs show for requests
// made with that key; a bare key is shown as a fingerprint, "key-" and the
// first 8 hex digits of its SHA-256, which identifies it without revealing
// it. Keys must be at least MinKeyLength printable ASCII characters without
// spaces or commas; names and keys must be unique. Since a name is split
// off at the first "=", a key that itself contains "=" (base64 padding)
// must be given a name.
//
// Every problem is reported at once, in a *KeysError.
func ParseKeys(s string) (*Keys, error) {
	k := &Keys{}
	var problems []string
	names := map[string]int{}
	digests := map[[sha256.Size]byte]int{}
	for i, raw := range strings.Split(s, ",") {
		n := i + 1
		entry := strings.TrimSpace(raw)
		if entry == "" {
			problems = append(problems, fmt.Sprintf("has an empty key at entry %d (check for doubled or trailing commas)", n))
			continue
		}
		name, key := "", entry
		if before, after, ok := strings.Cut(entry, "="); ok && isKeyName(strings.TrimSpace(before)) {
			name, key = strings.TrimSpace(before), strings.TrimSpace(after)
		}
		// Entries are named by position only: what looks like a name
		// may be most of a key that contains "=".
		where := fmt.Sprintf("entry %d", n)
		switch {
		case key == "":
			problems = append(problems, fmt.Sprintf("has an empty key at %s (a key containing \"=\" must be written name=key)", where))
			continue
		case !printable(key):
			problems = append(problems, fmt.Sprintf("has a key with a space, comma or non-printable character at %s", where))
			continue
		case len(key) < MinKeyLength:
			problems = append(problems, fmt.Sprintf("has a key shorter than %d characters at %s; use long random keys (a key containing \"=\" must be written name=key)", MinKeyLength, where))
			continue
		}
		d := sha256.Sum256([]byte(key))
		if prev, dup := digests[d]; dup {
			problems = append(problems, fmt.Sprintf("has the same key at entries %d and %d", prev, n))
			continue
		}
		digests[d] = n
		if name == "" {
			name = "key-" + hex.EncodeToString(d[:4])
		}
		if prev, dup := names[name]; dup {
			problems = append(problems, fmt.Sprintf("has the same name at entries %d and %d; names must be unique", prev, n))
			continue
		}
		names[name] = n
		k.entries = append(k.entries, keyEntry{name: name, digest: d})
	}
	if problems != nil {
		return nil, &KeysError{Problems: problems}
	}
	return k, nil
}

// printable reports whether s is visible ASCII: no space, no comma, no
// control or non-ASCII character.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == ',' {
			return false
		}
	}
	return true
}

// Len returns the number of keys.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.entries)
}

// Names returns the caller names in configuration order: the given names,
// or the fingerprints of bare keys.
func (k *Keys) Names() []string {
	if k == nil {
		return nil
	}
	out := make([]string, len(k.entries))
	for i, e := range k.entries {
		out[i] = e.name
	}
	return out
}

// String shows the caller names, never a key.
func (k *Keys) String() string {
	return "httpapi.Keys" + fmt.Sprint(k.Names())
}

// LogValue logs the caller names, never a key.
func (k *Keys) LogValue() slog.Value {
	return slog.AnyValue(k.Names())
}

// Authenticate checks r's Authorization header ("Bearer <key>", exactly
// one) against every key and returns the caller's name. The presented key
// is compared with all configured keys, each in constant time and without
// stopping at a match, so the answer's timing tells nothing about which
// key, or how much of one, matched.
func (k *Keys) Authenticate(r *http.Request) (caller string, ok bool) {
	if k.Len() == 0 {
		return "", false
	}
	h := r.Header.Values("Authorization")
	if len(h) != 1 {
		return "", false
	}
	scheme, token, found := strings.Cut(h[0], " ")
	token = strings.TrimLeft(token, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	d := sha256.Sum256([]byte(token))
	match, idx := 0, 0
	for i := range k.entries {
		eq := subtle.ConstantTimeCompare(d[:], k.entries[i].digest[:])
		idx = subtle.ConstantTimeSelect(eq, i, idx)
		match |= eq
	}
	if match != 1 {
		return "", false
	}
	return k.entries[idx].name, true
}

// Require returns next behind bearer-key authentication: a request without
// a valid key is answered 401 with "WWW-Authenticate: Bearer" and a JSON
// body that does not say what was wrong (missing, malformed or unknown
// key); next sees the caller's name through Caller. The key is never
// logged or echoed.
//
// When w has a method SetCaller(string), as the platform adapter's access
// logger has, Require hands it the caller's name too, so the request's own
// log line says who made it.
func (k *Keys) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, ok := k.Authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", "Bearer")
			WriteError(w, r, http.StatusUnauthorized, CodeUnauthorized, "a valid bearer key is required: Authorization: Bearer <key>")
			return
		}
		if cs, ok := w.(interface{ SetCaller(string) }); ok {
			cs.SetCaller(caller)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller)))
	})
}

type callerKey struct{}

// Caller returns the name of the authenticated caller of the request ctx
// belongs to (see Keys.Require), or "" outside an authenticated request.
// The platform adapter's logger adds it to every line logged with ctx.
func Caller(ctx context.Context) string {
	name, _ := ctx.Value(callerKey{}).(string)
	return name
}

// WithCaller returns ctx acting for caller, as Keys.Require's requests
// do, for work done on a caller's behalf outside an authenticated request
// (the command line's own notify): the lines logged with it name the
// caller too.
func WithCaller(ctx context.Context, caller string) context.Context {
	if caller == "" || Caller(ctx) == caller {
		return ctx
	}
	return context.WithValue(ctx, callerKey{}, caller)
}
