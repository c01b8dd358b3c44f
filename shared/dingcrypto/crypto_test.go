package dingcrypto

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test credentials. They are made up for these tests; none is a real app's.
const (
	testToken = "tok3nForTests"
	testKey   = "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij" // DingTalk's published sample key
	testOwner = "dingTestAppKey0001"
)

func newTestCrypto(t testing.TB) *Crypto {
	t.Helper()
	c, err := New(testToken, testKey, testOwner)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func decodeB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	return b
}

// rawEncrypt CBC-encrypts plain (whose length must be a multiple of 16) as
// is, so tests can hand Decrypt plaintexts no honest encoder produces.
func rawEncrypt(c *Crypto, plain []byte) string {
	buf := bytes.Clone(plain)
	cipher.NewCBCEncrypter(c.block, c.iv[:]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf)
}

// layout builds random16 ‖ len ‖ msg ‖ receiver with a declared length that
// may lie.
func layout(declared uint32, msg, receiver string) []byte {
	b := make([]byte, 20, 20+len(msg)+len(receiver)+32)
	copy(b, "0123456789abcdef")
	binary.BigEndian.PutUint32(b[16:], declared)
	b = append(b, msg...)
	return append(b, receiver...)
}

// padTo appends PKCS#7 padding to a multiple of block.
func padTo(b []byte, block int) []byte {
	p := block - len(b)%block
	return append(b, bytes.Repeat([]byte{byte(p)}, p)...)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	c := newTestCrypto(t)
	msgs := map[string][]byte{
		"empty":     {},
		"1 byte":    []byte("x"),
		"31 bytes":  bytes.Repeat([]byte("a"), 31),
		"32 bytes":  bytes.Repeat([]byte("b"), 32),
		"33 bytes":  bytes.Repeat([]byte("c"), 33),
		"12 KiB+5":  bytes.Repeat([]byte("0123456789abcdef"), 12*64+5)[:12*1024+5],
		"non-ASCII": []byte(`{"EventType":"user_add_org","Name":"张三 – Zoë 🚀","CorpId":"ding测试"}`),
		"binary":    {0, 0xff, 0x10, 0x20, 0x00, '\n'},
	}
	for name, msg := range msgs {
		t.Run(name, func(t *testing.T) {
			env, err := c.Encrypt(msg)
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			ct := decodeB64(t, env.Encrypt)
			if len(ct)%32 != 0 {
				t.Errorf("ciphertext is %d bytes, want a multiple of 32", len(ct))
			}
			if want := Sign(testToken, env.TimeStamp, env.Nonce, env.Encrypt); env.MsgSignature != want {
				t.Errorf("MsgSignature = %s, want %s", env.MsgSignature, want)
			}
			got, err := c.Decrypt(env.MsgSignature, env.TimeStamp, env.Nonce, env.Encrypt)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(got, msg) {
				t.Errorf("round trip = %q, want %q", got, msg)
			}
		})
	}
}

func TestEncryptFreshness(t *testing.T) {
	t.Parallel()
	c := newTestCrypto(t)
	now := time.UnixMilli(1700000000123)
	c.now = func() time.Time { return now }
	a, err := c.Encrypt([]byte("success"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encrypt([]byte("success"))
	if err != nil {
		t.Fatal(err)
	}
	if a.TimeStamp != "1700000000123" {
		t.Errorf("TimeStamp = %s, want milliseconds 1700000000123", a.TimeStamp)
	}
	if a.Nonce == b.Nonce || a.Encrypt == b.Encrypt {
		t.Errorf("two encryptions share a nonce or ciphertext: %+v %+v", a, b)
	}
	if len(a.Nonce) != nonceLen || strings.Trim(a.Nonce, nonceAlphabet) != "" {
		t.Errorf("nonce %q is not %d alphanumerics", a.Nonce, nonceLen)
	}
}

func TestEncryptRandomFailure(t *testing.T) {
	t.Parallel()
	c := newTestCrypto(t)
	c.rand = strings.NewReader("short")
	if _, err := c.Encrypt([]byte("x")); err == nil {
		t.Fatal("Encrypt with a failing random source succeeded")
	}
}

func TestDecryptAcceptsAnyPadBlock(t *testing.T) {
	t.Parallel()
	c := newTestCrypto(t)
	for _, block := range []int{16, 32} {
		for _, msg := range []string{"", "success", strings.Repeat("z", 45)} {
			plain := padTo(layout(uint32(len(msg)), msg, testOwner), block)
			enc := rawEncrypt(c, plain)
			got, err := c.Decrypt(Sign(testToken, "1", "n", enc), "1", "n", enc)
			if err != nil || string(got) != msg {
				t.Errorf("block %d, msg %q: got %q, %v", block, msg, got, err)
			}
		}
	}
	// A full block of padding (pad value 32) is legal: 20+12+32 = 64 bytes
	// of content, then 32 bytes of 32.
	exact := layout(12, "twelve bytes", testOwner+"xxxxxxxxxxxxxx")
	exact = append(exact, bytes.Repeat([]byte{32}, 32)...)
	c2, err := New(testToken, testKey, testOwner+"xxxxxxxxxxxxxx")
	if err != nil {
		t.Fatal(err)
	}
	enc := rawEncrypt(c2, exact)
	if got, err := c2.Decrypt(Sign(testToken, "1", "n", enc), "1", "n", enc); err != nil || string(got) != "twelve bytes" {
		t.Errorf("pad 32: got %q, %v", got, err)
	}
}

func TestDecryptMalformed(t *testing.T) {
	t.Parallel()
	c := newTestCrypto(t)
	good, err := c.Encrypt([]byte(`{"EventType":"check_url"}`))
	if err != nil {
		t.Fatal(err)
	}
	signed := func(enc string) [4]string { return [4]string{Sign(testToken, "1", "n", enc), "1", "n", enc} }
	enc := func(plain []byte) [4]string { return signed(rawEncrypt(c, plain)) }

	tests := []struct {
		name string
		in   [4]string // signature, timestamp, nonce, encrypt
		want error
	}{
		{"tampered signature", [4]string{strings.Repeat("0", 40), good.TimeStamp, good.Nonce, good.Encrypt}, ErrBadSignature},
		{"short signature", [4]string{good.MsgSignature[:39], good.TimeStamp, good.Nonce, good.Encrypt}, ErrBadSignature},
		{"long signature", [4]string{good.MsgSignature + "0", good.TimeStamp, good.Nonce, good.Encrypt}, ErrBadSignature},
		{"uppercase signature", [4]string{strings.ToUpper(good.MsgSignature), good.TimeStamp, good.Nonce, good.Encrypt}, ErrBadSignature},
		{"empty signature", [4]string{"", good.TimeStamp, good.Nonce, good.Encrypt}, ErrBadSignature},
		{"other timestamp", [4]string{good.MsgSignature, good.TimeStamp + "1", good.Nonce, good.Encrypt}, ErrBadSignature},
		{"other nonce", [4]string{good.MsgSignature, good.TimeStamp, good.Nonce + "x", good.Encrypt}, ErrBadSignature},
		{"signed with another token", [4]string{Sign("other", "1", "n", good.Encrypt), "1", "n", good.Encrypt}, ErrBadSignature},
		{"empty encrypt", signed(""), ErrBadCiphertextLength},
		{"not base64", signed("!!!!notbase64!!!"), ErrBadBase64},
		{"unpadded base64", signed(strings.TrimRight(good.Encrypt, "=") + "A"), ErrBadBase64},
		{"url-safe base64", signed(strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff}, 24)))), ErrBadBase64},
		{"15-byte ciphertext", signed(base64.StdEncoding.EncodeToString(make([]byte, 15))), ErrBadCiphertextLength},
		{"17-byte ciphertext", signed(base64.StdEncoding.EncodeToString(make([]byte, 17))), ErrBadCiphertextLength},
		{"only padding chars", signed("===="), ErrBadBase64},
		{"pad value 0", enc(make([]byte, 32)), ErrBadPadding},
		{"pad value 33", enc(append(make([]byte, 63), 33)), ErrBadPadding},
		{"pad value 255", enc(append(make([]byte, 31), 255)), ErrBadPadding},
		{"pad longer than plaintext", enc(bytes.Repeat([]byte{32}, 16)), ErrBadPadding},
		{"non-uniform pad", enc(append(layout(0, "", testOwner)[:26], 1, 2, 3, 4, 5, 6)), ErrBadPadding},
		{"header cut short", enc(padTo([]byte("0123456789abcdef"), 16)), ErrBadLength},
		{"19-byte content", enc(padTo(make([]byte, 19), 32)), ErrBadLength},
		{"length past end", enc(padTo(layout(100, "short", testOwner), 32)), ErrBadLength},
		{"length 0xffffffff", enc(padTo(layout(0xffffffff, "x", testOwner), 32)), ErrBadLength},
		{"length eats receiver", enc(padTo(layout(uint32(5+len(testOwner)+1), "hello", testOwner), 32)), ErrBadLength},
		{"other receiver", enc(padTo(layout(5, "hello", "dingOtherApp"), 32)), ErrReceiverMismatch},
		{"receiver prefix", enc(padTo(layout(5, "hello", testOwner[:len(testOwner)-1]), 32)), ErrReceiverMismatch},
		{"receiver with suffix", enc(padTo(layout(5, "hello", testOwner+"X"), 32)), ErrReceiverMismatch},
		{"receiver case differs", enc(padTo(layout(5, "hello", strings.ToUpper(testOwner)), 32)), ErrReceiverMismatch},
		{"no receiver", enc(padTo(layout(5, "hello", ""), 32)), ErrReceiverMismatch},
		{"length too short leaves junk", enc(padTo(layout(4, "hello", testOwner), 32)), ErrReceiverMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decrypt(tt.in[0], tt.in[1], tt.in[2], tt.in[3])
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decrypt error = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("Decrypt returned %q alongside an error", got)
			}
			var e *Error
			if !errors.As(err, &e) || e.Detail == "" {
				t.Errorf("error %v is not an *Error with a detail", err)
			}
			for _, secret := range []string{testToken, testKey} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks a secret", err)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, token, key, owner string
		want                    error
	}{
		{"official key with trailing bits", "123456", "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij", "suite4xxxxxxxxxxxxxxx", nil},
		{"numeric key", "123456", "1234567890123456789012345678901234567890123", "ding1", nil},
		{"empty key", "t", "", "o", ErrBadKey},
		{"42 chars", "t", testKey[:42], "o", ErrBadKey},
		{"44 chars", "t", testKey + "=", "o", ErrBadKey},
		{"padding char inside", "t", "=" + testKey[1:], "o", ErrBadKey},
		{"url-safe char", "t", "-" + testKey[1:], "o", ErrBadKey},
		{"space", "t", " " + testKey[1:], "o", ErrBadKey},
		{"newline", "t", testKey[:20] + "\n" + testKey[21:], "o", ErrBadKey},
		{"non-ASCII", "t", "钉" + testKey[3:], "o", ErrBadKey},
		{"empty token", "", testKey, "o", ErrBadConfig},
		{"empty owner", "t", testKey, "", ErrBadConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.token, tt.key, tt.owner)
			if tt.want == nil {
				if err != nil || c == nil {
					t.Fatalf("New = %v, %v; want a Crypto", c, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || c != nil {
				t.Fatalf("New = %v, %v; want %v", c, err, tt.want)
			}
			if tt.key != "" && len(tt.key) > 8 && strings.Contains(err.Error(), tt.key[5:]) {
				t.Errorf("error %q quotes the key", err)
			}
		})
	}
}

func TestErrorKinds(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", newError(KindReceiverMismatch, "x"))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindReceiverMismatch || e.DingTalkCode() != 900010 {
		t.Fatalf("errors.As = %v, %+v", err, e)
	}
	if errors.Is(err, ErrBadSignature) {
		t.Error("receiver mismatch matched ErrBadSignature")
	}
	seen := map[string]bool{}
	for k := KindBadKey; k <= KindExpiredTimestamp; k++ {
		if s := k.String(); s == "unknown" || seen[s] {
			t.Errorf("kind %d has name %q (duplicate or missing)", k, s)
		} else {
			seen[s] = true
		}
	}
	if Kind(200).String() != "unknown" {
		t.Error("out-of-range kind has a name")
	}
}

func TestCryptoDoesNotPrintSecrets(t *testing.T) {
	t.Parallel()
	c := newTestCrypto(t)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), c.LogValue().String()} {
		if strings.Contains(s, testToken) || strings.Contains(s, testKey) {
			t.Errorf("formatted Crypto leaks a secret: %s", s)
		}
		if !strings.Contains(s, testOwner) {
			t.Errorf("formatted Crypto %q lacks the owner key", s)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c := newTestCrypto(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := bytes.Repeat([]byte{byte('a' + i)}, 100*i+1)
			for range 50 {
				env, err := c.Encrypt(msg)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := c.Decrypt(env.MsgSignature, env.TimeStamp, env.Nonce, env.Encrypt)
				if err != nil || !bytes.Equal(got, msg) {
					t.Errorf("goroutine %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSignIgnoresArgumentOrder(t *testing.T) {
	t.Parallel()
	// The official vector's values, passed in every position.
	a := Sign("123456", "1445827045067", "nEXhMP4r", "enc")
	for _, p := range [][4]string{
		{"enc", "nEXhMP4r", "1445827045067", "123456"},
		{"nEXhMP4r", "123456", "enc", "1445827045067"},
	} {
		if got := Sign(p[0], p[1], p[2], p[3]); got != a {
			t.Errorf("Sign%v = %s, want %s", p, got, a)
		}
	}
}

func TestCheckTimestamp(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name, ts string
		want     error
	}{
		{"milliseconds now", "1700000000000", nil},
		{"seconds now", "1700000000", nil},
		{"ms within window", "1699999000000", nil},
		{"seconds too old", "1699990000", ErrExpiredTimestamp},
		{"ms in the future", "1700009000000", ErrExpiredTimestamp},
		{"empty", "", ErrBadTimestamp},
		{"negative", "-5", ErrBadTimestamp},
		{"not a number", "12a", ErrBadTimestamp},
		{"overflow", "99999999999999999999", ErrBadTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTimestamp(tt.ts, now, time.Hour)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("CheckTimestamp(%q) = %v, want %v", tt.ts, err, tt.want)
			}
		})
	}
}

func TestRandomAlnum(t *testing.T) {
	a, b := RandomAlnum(43), RandomAlnum(43)
	if len(a) != 43 || strings.Trim(a, nonceAlphabet) != "" || a == b {
		t.Fatalf("RandomAlnum(43) = %q, %q: want two different 43-character alphanumeric strings", a, b)
	}
	// 43 alphanumeric characters are a usable EncodingAESKey.
	if _, err := New("token", a, "owner"); err != nil {
		t.Errorf("New with a RandomAlnum key: %v", err)
	}
	if s := RandomAlnum(0); s != "" {
		t.Errorf("RandomAlnum(0) = %q", s)
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"1700000000", time.Unix(1700000000, 0)},
		{"1700000000123", time.UnixMilli(1700000000123)},
		{"0", time.Unix(0, 0)},
	} {
		got, err := ParseTimestamp(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "-1", "1.5", "12a", " 1"} {
		if _, err := ParseTimestamp(in); !errors.Is(err, ErrBadTimestamp) {
			t.Errorf("ParseTimestamp(%q) error = %v, want ErrBadTimestamp", in, err)
		}
	}
}
