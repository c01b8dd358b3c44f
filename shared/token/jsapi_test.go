package token

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
)

func TestJSAPISignerConfig(t *testing.T) {
	clk, _, up, p := setup(t)
	ctx := context.Background()
	hashes := []struct {
		name string
		opts []SignerOption
		sum  func([]byte) string
	}{
		{"sha1", nil, func(b []byte) string { s := sha1.Sum(b); return hex.EncodeToString(s[:]) }},
		{"sha256", []SignerOption{WithSHA256()}, func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }},
	}
	for _, h := range hashes {
		t.Run(h.name, func(t *testing.T) {
			s, err := NewJSAPISigner(p, "dingcorp", "123456", h.opts...)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := s.Config(ctx, "https://h5.example.com:8443/app/?a=1&b=%E4%B8%AD#/home", "biz.contact.choose")
			if err != nil {
				t.Fatal(err)
			}
			ticket, _ := p.JSAPITicket(ctx)
			plain := "jsapi_ticket=" + ticket + "&noncestr=" + cfg.NonceStr + "&timestamp=" + strconv.FormatInt(cfg.TimeStamp, 10) +
				"&url=https://h5.example.com:8443/app/?a=1&b=%E4%B8%AD"
			if want := h.sum([]byte(plain)); cfg.Signature != want {
				t.Errorf("signature = %s, want %s", cfg.Signature, want)
			}
			if cfg.CorpID != "dingcorp" || cfg.AgentID != "123456" || cfg.TimeStamp != clk.Now().Unix() || len(cfg.NonceStr) != 16 {
				t.Errorf("config = %+v", cfg)
			}
			if len(cfg.JSAPIList) != 1 || cfg.JSAPIList[0] != "biz.contact.choose" {
				t.Errorf("jsApiList = %v", cfg.JSAPIList)
			}
			again, _ := s.Config(ctx, "https://h5.example.com/")
			if again.NonceStr == cfg.NonceStr {
				t.Errorf("nonce repeated: %q", again.NonceStr)
			}
		})
	}
	if n := up.ticketCalls.Load(); n != 1 {
		t.Fatalf("ticket fetched %d times for several configs, want 1", n)
	}
}

func TestJSAPISignerRejectsBadURL(t *testing.T) {
	_, _, up, p := setup(t)
	s, _ := NewJSAPISigner(p, "dingcorp", "1")
	for _, u := range []string{"", "/relative/page", "ftp://h/x", "https://", "https://h5.example.com/a b"} {
		if _, err := s.Config(context.Background(), u); !errors.Is(err, ErrBadPageURL) {
			t.Errorf("Config(%q) err = %v, want ErrBadPageURL", u, err)
		}
	}
	if n := up.tokenCalls.Load() + up.ticketCalls.Load(); n != 0 {
		t.Fatalf("bad URLs caused %d upstream calls", n)
	}
	if _, err := NewJSAPISigner(p, "", "1"); err == nil {
		t.Fatal("NewJSAPISigner without corp id: nil error")
	}
}
