package dingcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	asmbase64 "github.com/segmentio/asm/base64"
)

const (
	// KeyLength is the length of a DingTalk EncodingAESKey.
	KeyLength = 43
	// padBlock is the block DingTalk's encoder pads to. Decoders must still
	// accept any pad of 1..32 because some of DingTalk's encoders pad to 16.
	padBlock = 32
	// prefixLen is random16 plus the 4-byte big-endian message length.
	prefixLen = 16 + 4
	// sigLen is the length of a lowercase hex SHA-1 digest.
	sigLen = 2 * sha1.Size
)

// Crypto encrypts, decrypts and signs DingTalk callback messages for one
// subscription: one token, one EncodingAESKey and one owner key (the appKey
// for console subscriptions, the corpId for register_call_back, the suiteKey
// for third-party apps). It is safe for concurrent use.
type Crypto struct {
	token string
	owner []byte
	block cipher.Block
	iv    [aes.BlockSize]byte

	// rand and now are replaced by tests to reproduce published vectors.
	rand io.Reader
	now  func() time.Time
}

// Envelope is the JSON object DingTalk expects as the answer to a callback
// (and the shape of an encrypted push). All four values are strings; note
// the capital S of timeStamp.
type Envelope struct {
	MsgSignature string `json:"msg_signature"`
	TimeStamp    string `json:"timeStamp"`
	Nonce        string `json:"nonce"`
	Encrypt      string `json:"encrypt"`
}

// New returns a Crypto for the given callback token, 43-character
// EncodingAESKey and owner key. It returns an *Error of KindBadKey for a key
// that is not 43 base64 characters, and of KindBadConfig for an empty token
// or owner key.
//
// The key is decoded leniently, as DingTalk does: its 43rd character often
// carries non-zero trailing bits (the official sample key does), which a
// strict base64 decoder would reject.
func New(token, encodingAESKey, ownerKey string) (*Crypto, error) {
	if token == "" {
		return nil, newError(KindBadConfig, "empty token")
	}
	if ownerKey == "" {
		return nil, newError(KindBadConfig, "empty owner key")
	}
	if len(encodingAESKey) != KeyLength {
		return nil, newError(KindBadKey, "EncodingAESKey must be "+strconv.Itoa(KeyLength)+" characters, got "+strconv.Itoa(len(encodingAESKey)))
	}
	for i := 0; i < len(encodingAESKey); i++ {
		if !isBase64Char(encodingAESKey[i]) {
			// The position, never the character: the key is a secret.
			return nil, newError(KindBadKey, "EncodingAESKey has a non-base64 character at position "+strconv.Itoa(i))
		}
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, newError(KindBadKey, "EncodingAESKey does not decode to 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, newError(KindBadKey, "AES-256 rejected the key")
	}
	c := &Crypto{token: token, owner: []byte(ownerKey), block: block}
	copy(c.iv[:], key[:aes.BlockSize])
	return c, nil
}

func isBase64Char(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '+' || b == '/'
}

// OwnerKey returns the receiver id this Crypto encrypts for and expects.
func (c *Crypto) OwnerKey() string { return string(c.owner) }

// String describes c without its secrets, so a Crypto printed by mistake
// leaks neither the token nor the key.
func (c *Crypto) String() string {
	return "dingcrypto.Crypto{owner: " + strconv.Quote(string(c.owner)) + ", token: [redacted], key: [redacted]}"
}

// GoString is String, so %#v is safe too.
func (c *Crypto) GoString() string { return c.String() }

// LogValue makes slog print the owner key only.
func (c *Crypto) LogValue() slog.Value {
	return slog.GroupValue(slog.String("owner", string(c.owner)))
}

// Decrypt verifies signature over (token, timestamp, nonce, encrypt),
// decrypts encrypt and checks that the message was addressed to the
// configured owner key. It returns the message, or an *Error whose Kind
// names the first check that failed. The signature is checked first, in
// constant time, so an unauthenticated caller learns nothing about the
// plaintext layout. No input makes it panic.
//
// Decrypt does not judge the timestamp's age; see CheckTimestamp.
func (c *Crypto) Decrypt(signature, timestamp, nonce, encrypt string) ([]byte, error) {
	if len(encrypt) == 0 {
		return nil, newError(KindBadCiphertextLength, "empty encrypt")
	}
	sp := getScratch()
	defer putScratch(sp)
	joined, encOff := joinSorted((*sp)[:0], c.token, timestamp, nonce, encrypt)
	*sp = joined
	if !sigEqual(signature, sha1.Sum(joined)) {
		return nil, newError(KindBadSignature, "msg_signature does not match")
	}

	// Decode straight into the buffer the message is returned in, then
	// decrypt in place: one allocation for the whole message.
	out := make([]byte, base64.StdEncoding.DecodedLen(len(encrypt)))
	n, err := fastB64.Decode(out, joined[encOff:encOff+len(encrypt)])
	if err != nil {
		return nil, newError(KindBadBase64, err.Error())
	}
	ct := out[:n]
	if n == 0 || n%aes.BlockSize != 0 {
		return nil, newError(KindBadCiphertextLength, "ciphertext is "+strconv.Itoa(n)+" bytes, not a non-zero multiple of 16")
	}
	cipher.NewCBCDecrypter(c.block, c.iv[:]).CryptBlocks(ct, ct)
	return c.open(ct)
}

// open checks the padding, length and receiver of a decrypted plaintext and
// returns the message inside it.
func (c *Crypto) open(plain []byte) ([]byte, error) {
	n := len(plain)
	pad := int(plain[n-1])
	if pad < 1 || pad > padBlock || pad > n {
		return nil, newError(KindBadPadding, "pad value "+strconv.Itoa(pad)+" outside 1.."+strconv.Itoa(padBlock))
	}
	for _, b := range plain[n-pad:] {
		if int(b) != pad {
			return nil, newError(KindBadPadding, "pad bytes are not uniform")
		}
	}
	content := plain[:n-pad]
	if len(content) < prefixLen {
		return nil, newError(KindBadLength, "plaintext is shorter than the 20-byte header")
	}
	msgLen := uint64(binary.BigEndian.Uint32(content[16:prefixLen]))
	if msgLen > uint64(len(content)-prefixLen) {
		return nil, newError(KindBadLength, "message length "+strconv.FormatUint(msgLen, 10)+" exceeds the "+strconv.Itoa(len(content)-prefixLen)+" bytes present")
	}
	end := prefixLen + int(msgLen)
	if subtle.ConstantTimeCompare(content[end:], c.owner) != 1 {
		return nil, newError(KindReceiverMismatch, "message is for "+quoteShort(content[end:])+", configured owner key is "+strconv.Quote(string(c.owner)))
	}
	return content[prefixLen:end:end], nil
}

// quoteShort quotes a receiver id for an error message, cut short because a
// wrong AES key yields garbage of any length.
func quoteShort(b []byte) string {
	const max = 64
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}

// Encrypt encrypts msg for the owner key and signs it with a fresh
// crypto/rand nonce and the current time in milliseconds, ready to be sent
// as the JSON answer to a callback.
func (c *Crypto) Encrypt(msg []byte) (*Envelope, error) {
	if uint64(len(msg)) > math.MaxUint32-prefixLen-padBlock-uint64(len(c.owner)) {
		return nil, newError(KindBadLength, "message longer than 4 GiB")
	}
	// One read for random16 and the nonce.
	var rnd [16 + nonceLen]byte
	if err := c.read(rnd[:]); err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(c.clock().UnixMilli(), 10)
	return c.envelope([16]byte(rnd[:16]), ts, nonceText(rnd[16:]), msg), nil
}

// envelope is Encrypt with its random parts given, which is what the
// published known-answer vectors pin down.
func (c *Crypto) envelope(random16 [16]byte, timestamp, nonce string, msg []byte) *Envelope {
	sp := getScratch()
	defer putScratch(sp)
	enc := c.seal(sp, random16, msg)
	// Sign the base64 bytes where they lie instead of joining a copy.
	var small [96]byte
	parts := [4][]byte{
		append(small[:0:32], c.token...),
		append(small[32:32:64], timestamp...),
		append(small[64:64:96], nonce...),
		enc,
	}
	slices.SortFunc(parts[:], bytes.Compare)
	h := sha1.New()
	for _, p := range parts {
		h.Write(p)
	}
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	return &Envelope{
		MsgSignature: hex.EncodeToString(sum[:]),
		TimeStamp:    timestamp,
		Nonce:        nonce,
		Encrypt:      string(enc),
	}
}

const nonceLen = 16

const nonceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// toAlnum maps random bytes in place to the alphanumeric characters
// DingTalk's own samples use for nonces. The slight modulo bias is
// harmless: a nonce only has to be unique, not uniform.
func toAlnum(b []byte) {
	for i := range b {
		b[i] = nonceAlphabet[int(b[i])%len(nonceAlphabet)]
	}
}

// nonceText is the nonce Encrypt puts in an envelope, made from the random
// bytes b (so the published vectors can fix them).
func nonceText(b []byte) string {
	var s [nonceLen]byte
	copy(s[:], b)
	toAlnum(s[:])
	return string(s[:])
}

// RandomAlnum returns n random characters from [A-Za-z0-9], read from
// crypto/rand: the shape of the nonces DingTalk signs (callback replies,
// dd.config's nonceStr), and, at 43 characters, a valid EncodingAESKey.
func RandomAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24
	toAlnum(b)
	return string(b)
}

func (c *Crypto) read(b []byte) error {
	if c.rand == nil {
		// crypto/rand.Read never fails since Go 1.24.
		_, _ = rand.Read(b)
		return nil
	}
	if _, err := io.ReadFull(c.rand, b); err != nil {
		return &Error{Kind: KindBadConfig, Detail: "random source failed: " + err.Error()}
	}
	return nil
}

func (c *Crypto) clock() time.Time {
	if c.now == nil {
		return time.Now()
	}
	return c.now()
}

// fastB64 is standard base64 with SIMD (AVX2 on amd64, NEON on arm64) from
// segmentio/asm; it falls back to encoding/base64 elsewhere and for the
// tail, with the same results and errors. Base64 was half the cost of a
// callback at 4 KiB and more with the standard library.
var fastB64 = asmbase64.StdEncoding

// seal builds random16 ‖ len ‖ msg ‖ owner ‖ pad in the scratch buffer,
// encrypts it in place and returns its standard base64, encoded into the
// same buffer (so valid until the buffer is reused).
func (c *Crypto) seal(sp *[]byte, random16 [16]byte, msg []byte) []byte {
	plainLen := prefixLen + len(msg) + len(c.owner)
	pad := padBlock - plainLen%padBlock
	total := plainLen + pad
	encLen := base64.StdEncoding.EncodedLen(total)

	*sp = slices.Grow((*sp)[:0], total+encLen)
	buf := (*sp)[:total]
	copy(buf, random16[:])
	binary.BigEndian.PutUint32(buf[16:prefixLen], uint32(len(msg)))
	copy(buf[prefixLen:], msg)
	copy(buf[prefixLen+len(msg):], c.owner)
	for i := plainLen; i < total; i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, c.iv[:]).CryptBlocks(buf, buf)
	enc := (*sp)[total : total+encLen]
	fastB64.Encode(enc, buf)
	return enc
}

// Sign returns DingTalk's callback signature: the lowercase hex SHA-1 of
// token, timestamp, nonce and encrypt, sorted bytewise and concatenated.
func Sign(token, timestamp, nonce, encrypt string) string {
	sp := getScratch()
	defer putScratch(sp)
	joined, _ := joinSorted((*sp)[:0], token, timestamp, nonce, encrypt)
	*sp = joined
	sum := sha1.Sum(joined)
	return hex.EncodeToString(sum[:])
}

// sigEqual compares a received hex signature with a digest in constant time.
func sigEqual(got string, sum [sha1.Size]byte) bool {
	var want, have [sigLen]byte
	hex.Encode(want[:], sum[:])
	if len(got) != sigLen {
		return false
	}
	copy(have[:], got)
	return subtle.ConstantTimeCompare(want[:], have[:]) == 1
}

// joinSorted appends the four parts to dst in bytewise order and reports
// where the fourth (encrypt) landed. The joined bytes are hashed in one
// sha1.Sum and are also the []byte source base64 decodes from, so the
// ciphertext text is copied exactly once and nothing is allocated once the
// scratch buffer has grown.
func joinSorted(dst []byte, token, timestamp, nonce, encrypt string) ([]byte, int) {
	parts := [4]string{token, timestamp, nonce, encrypt}
	idx := [4]int{0, 1, 2, 3}
	for i := 1; i < 4; i++ {
		for j := i; j > 0 && parts[idx[j]] < parts[idx[j-1]]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	encOff := 0
	for _, k := range idx {
		if k == 3 {
			encOff = len(dst)
		}
		dst = append(dst, parts[k]...)
	}
	return dst, encOff
}

// maxPooled bounds the scratch buffers kept for reuse, so one huge request
// does not pin its memory forever.
const maxPooled = 1 << 20

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

func putScratch(p *[]byte) {
	if cap(*p) > maxPooled {
		return
	}
	*p = (*p)[:0]
	scratchPool.Put(p)
}

// CheckTimestamp reports whether a callback or robot timestamp lies within
// window of now. DingTalk sends both seconds and milliseconds; values above
// 1e11 are read as milliseconds. It returns an *Error of KindBadTimestamp
// for a value that is not a decimal integer and of KindExpiredTimestamp for
// one outside the window.
func CheckTimestamp(timestamp string, now time.Time, window time.Duration) error {
	t, err := ParseTimestamp(timestamp)
	if err != nil {
		return err
	}
	d := now.Sub(t)
	if d < 0 {
		d = -d
	}
	if d > window {
		return newError(KindExpiredTimestamp, "timestamp is "+d.Round(time.Second).String()+" away from now, more than "+window.String())
	}
	return nil
}

// ParseTimestamp reads a DingTalk timestamp, which is seconds or
// milliseconds since the epoch depending on the sender: values above 1e11
// (March 5138 in seconds, March 1973 in milliseconds) are milliseconds. It
// returns an *Error of KindBadTimestamp for a value that is not a
// non-negative decimal integer.
func ParseTimestamp(timestamp string) (time.Time, error) {
	v, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || v < 0 {
		return time.Time{}, newError(KindBadTimestamp, "timestamp is not a non-negative decimal integer")
	}
	if v > 1e11 {
		return time.UnixMilli(v), nil
	}
	return time.Unix(v, 0), nil
}
