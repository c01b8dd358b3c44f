package dingcrypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzDecrypt feeds Decrypt two ways: the raw strings as given (almost
// always a bad signature, which exercises the parameter handling), and an
// arbitrary plaintext encrypted and signed correctly, which drives the
// padding, length and receiver checks with inputs no honest encoder makes.
// Decrypt must never panic, must fail with an *Error, and when it succeeds
// its result must be what the plaintext's own layout says.
func FuzzDecrypt(f *testing.F) {
	c, err := New(testToken, testKey, testOwner)
	if err != nil {
		f.Fatal(err)
	}
	good, err := c.Encrypt([]byte(`{"EventType":"check_url"}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.MsgSignature, good.TimeStamp, good.Nonce, good.Encrypt, []byte(nil))
	f.Add("", "", "", "", padTo(layout(7, "success", testOwner), 32))
	f.Add("x", "1", "n", "====", padTo(layout(7, "success", testOwner), 16))
	f.Add(good.MsgSignature, "", "", "AAAA", append(layout(0, "", testOwner), 0))
	f.Add("", "", "", "", padTo(layout(0xffffffff, "", testOwner), 32))

	f.Fuzz(func(t *testing.T, sig, ts, nonce, encrypt string, plain []byte) {
		if msg, err := c.Decrypt(sig, ts, nonce, encrypt); err != nil {
			checkErr(t, err)
		} else if msg == nil {
			t.Fatal("Decrypt returned nil message and nil error")
		}

		if len(plain) == 0 || len(plain)%16 != 0 {
			plain = append(plain, make([]byte, 16-len(plain)%16)...)
		}
		enc := rawEncrypt(c, plain)
		msg, err := c.Decrypt(Sign(testToken, ts, nonce, enc), ts, nonce, enc)
		if err != nil {
			checkErr(t, err)
			if errors.Is(err, ErrBadSignature) || errors.Is(err, ErrBadBase64) || errors.Is(err, ErrBadCiphertextLength) {
				t.Fatalf("well-formed, correctly signed ciphertext rejected as %v", err)
			}
			return
		}
		// Success must mean the layout really was valid.
		pad := int(plain[len(plain)-1])
		content := plain[:len(plain)-pad]
		n := binary.BigEndian.Uint32(content[16:20])
		if !bytes.Equal(msg, content[20:20+n]) || string(content[20+n:]) != testOwner {
			t.Fatalf("Decrypt accepted %x as %q", plain, msg)
		}
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Kind.String() == "unknown" {
		t.Fatalf("error %v (%T) is not a typed *Error", err, err)
	}
}
