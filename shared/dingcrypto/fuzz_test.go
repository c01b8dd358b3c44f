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
	// DingTalk's published credentials, so its official push is a seed
	// that decrypts on the raw path.
	const (
		token = "123456"
		owner = "suite4xxxxxxxxxxxxxxx"
	)
	c, err := New(token, testKey, owner)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0", "1445827045067", "nEXhMP4r",
		"1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRWVdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgnNOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==",
		padTo(layout(7, "success", owner), 32))
	f.Add("", "", "", "", padTo(layout(7, "success", owner), 16))
	f.Add("x", "1", "n", "====", padTo(layout(0, "", owner), 32))
	f.Add("", "", "", "AAAA", append(layout(0, "", owner), 0))
	f.Add("", "", "", "", padTo(layout(0xffffffff, "", owner), 32))
	f.Add("", "", "", "", padTo(layout(3, "abc", owner+"x"), 32))

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
		msg, err := c.Decrypt(Sign(token, ts, nonce, enc), ts, nonce, enc)
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
		if !bytes.Equal(msg, content[20:20+n]) || string(content[20+n:]) != owner {
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
