package dingcrypto

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// JSAPISignature returns the signature a page passes to dd.config: the
// lowercase hex SHA-1 of
//
//	jsapi_ticket=<ticket>&noncestr=<nonceStr>&timestamp=<timestamp>&url=<pageURL>
//
// with any "#fragment" dropped from pageURL. nonceStr and timestamp must be
// the very values the page passes to dd.config as nonceStr and timeStamp.
//
// DingTalk answers a mismatch with error 52013 and says nothing more, so
// these are the usual causes:
//
//   - The URL is not the page's own location.href. Sign exactly what the
//     browser shows: same scheme (a TLS-terminating proxy makes the server
//     see http while the page is https), same host, the port if and only if
//     the page's URL has one (":80" and ":443" included), the same path
//     with or without its trailing slash, and the same query string.
//   - The URL was encoded or decoded on the way. Do not percent-encode it,
//     and do not pass it through url.Parse/String, which re-encodes. iOS
//     reports location.href with the query already percent-encoded while
//     Android does not; have the page send location.href to the server
//     verbatim (e.g. encodeURIComponent on the client, one decode on the
//     server) so both sides sign the same bytes.
//   - The fragment was kept. Single-page apps with hash routing ("#/home")
//     must sign the URL before the '#'; this function cuts it off.
//   - The ticket is stale. A jsapi_ticket fetched again by another
//     environment with the same appKey replaces the one this page was
//     signed with; keep one shared ticket cache per app.
//   - The hash is wrong: legacy docs and SDKs use SHA-1, DingTalk's current
//     sample uses SHA-256 (JSAPISignatureSHA256). Which the client accepts
//     is not documented; verify on a device.
func JSAPISignature(ticket, nonceStr string, timestamp int64, pageURL string) string {
	sum := sha1.Sum(jsapiPlain(ticket, nonceStr, timestamp, pageURL))
	return hex.EncodeToString(sum[:])
}

// JSAPISignatureSHA256 is JSAPISignature with SHA-256, as used by
// DingTalk's current official sample.
func JSAPISignatureSHA256(ticket, nonceStr string, timestamp int64, pageURL string) string {
	sum := sha256.Sum256(jsapiPlain(ticket, nonceStr, timestamp, pageURL))
	return hex.EncodeToString(sum[:])
}

func jsapiPlain(ticket, nonceStr string, timestamp int64, pageURL string) []byte {
	if i := strings.IndexByte(pageURL, '#'); i >= 0 {
		pageURL = pageURL[:i]
	}
	b := make([]byte, 0, 64+len(ticket)+len(nonceStr)+len(pageURL))
	b = append(b, "jsapi_ticket="...)
	b = append(b, ticket...)
	b = append(b, "&noncestr="...)
	b = append(b, nonceStr...)
	b = append(b, "&timestamp="...)
	b = strconv.AppendInt(b, timestamp, 10)
	b = append(b, "&url="...)
	b = append(b, pageURL...)
	return b
}
