package token_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/store/memstore"
	"github.com/dingfn/dingfn/shared/token"
)

// Example wires a provider the way every function does: a plain client as
// the upstream, the store as the shared cache, and the app's client taking
// the provider as its token source. The token-refresher function runs the
// Refresher on a schedule; pages get dd.config fields from a JSAPISigner.
func Example() {
	clock := dingtalktest.NewManualClock(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC))
	dt := dingtalktest.NewServer(dingtalktest.WithClock(clock.Now))
	defer dt.Close()
	st, _ := memstore.New(memstore.WithClock(clock.Now))
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	upstream, _ := dingtalk.NewClient(dt.AppKey(), dt.AppSecret(), dingtalk.WithBaseURLs(dt.URL, dt.URL))
	p, err := token.New(dt.AppKey(), st, token.FromClient(upstream), token.WithClock(clock.Now), token.WithLogger(quiet))
	if err != nil {
		fmt.Println(err)
		return
	}
	app, _ := dingtalk.NewClient(dt.AppKey(), dt.AppSecret(), dingtalk.WithBaseURLs(dt.URL, dt.URL), dingtalk.WithTokenSource(p))
	_ = app // app.Contact.GetUser(ctx, …) and friends now share the cached token

	r, _ := token.NewRefresher([]*token.Provider{p})
	rep, err := r.Tick(ctx)
	fmt.Println("tick:", rep.OK, err, rep.Apps[0].AccessToken.Refreshed, rep.Apps[0].AccessToken.ExpiresInSeconds)

	clock.Advance(time.Hour)
	rep, _ = r.Tick(ctx)
	fmt.Println("an hour later:", rep.Apps[0].JSAPITicket.Refreshed, rep.Apps[0].JSAPITicket.ExpiresInSeconds)

	signer, _ := token.NewJSAPISigner(p, dt.CorpID(), strconv.FormatInt(dt.AgentID(), 10))
	cfg, _ := signer.Config(ctx, "https://h5.example.com/approve?id=7#/step/2")
	ok := cfg.Signature == dingcrypto.JSAPISignature(dt.JSAPITicket(), cfg.NonceStr, cfg.TimeStamp, "https://h5.example.com/approve?id=7")
	fmt.Println("dd.config signature verifies:", ok)
	fmt.Println("DingTalk token calls:", dt.CallCount("v1.0/oauth2/accessToken"))
	// Output:
	// tick: true <nil> true 7200
	// an hour later: false 3600
	// dd.config signature verifies: true
	// DingTalk token calls: 1
}
