package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

const (
	tokenDeployments = 3
	tokenCallers     = 50
)

func tokenMeasurement() Measurement {
	return Measurement{
		Name: "token cache",
		Rows: []Row{
			{Name: fmt.Sprintf("DingTalk access-token calls, %d deployments × %d concurrent callers on a cold shared store", tokenDeployments, tokenCallers), Aim: Exactly(1)},
			{Name: fmt.Sprintf("DingTalk jsapi-ticket calls, %d deployments × %d concurrent callers on a cold shared store", tokenDeployments, tokenCallers), Aim: Exactly(1)},
		},
		Measure: measureTokens,
	}
}

// measureTokens opens three bundles as three deployments would (each its
// own DingTalk client and token provider) on one empty Tablestore (the
// emulator) and a fake DingTalk, and has 50 goroutines per deployment ask
// for the access token and the jsapi ticket at once. The store's lease
// lets one of the 150 callers fetch each value; the rest wait for it.
func measureTokens(ctx context.Context, env *Env) ([]Figure, error) {
	ding := dingtalktest.NewServer()
	defer ding.Close()
	ots := tablestoretest.NewServer()
	defer ots.Close()
	vars := functionEnv(ding, ots.URL)
	var bundles []*bundle.Bundle
	defer func() {
		for _, b := range bundles {
			b.Close()
		}
	}()
	for range tokenDeployments {
		cfg, err := config.Load(config.TokenRefresher, func(k string) string { return vars[k] })
		if err != nil {
			return nil, err
		}
		b, err := bundle.Open(ctx, cfg, nil)
		if err != nil {
			return nil, err
		}
		bundles = append(bundles, b)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, b := range bundles {
		for range tokenCallers {
			wg.Go(func() {
				_, err := b.Tokens.AccessToken(ctx)
				if err == nil {
					_, err = b.Tokens.JSAPITicket(ctx)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, fmt.Errorf("%d of %d callers failed: %w", len(errs), tokenDeployments*tokenCallers, errs[0])
	}
	tokens := ding.CallCount("gettoken") + ding.CallCount("v1.0/oauth2/accessToken")
	tickets := ding.CallCount("get_jsapi_ticket") + ding.CallCount("v1.0/oauth2/jsapiTickets")
	callers := strconv.Itoa(tokenDeployments*tokenCallers) + " callers"
	return []Figure{
		{Value: float64(tokens), Text: strconv.Itoa(tokens), Detail: callers},
		{Value: float64(tickets), Text: strconv.Itoa(tickets), Detail: callers},
	}, nil
}

// functionEnv is a complete configuration of every function against the
// fake DingTalk ding and the Tablestore emulator at otsURL.
func functionEnv(ding *dingtalktest.Server, otsURL string) map[string]string {
	return map[string]string{
		"DINGTALK_APP_KEY":                ding.AppKey(),
		"DINGTALK_APP_SECRET":             ding.AppSecret(),
		"DINGTALK_AGENT_ID":               strconv.FormatInt(ding.AgentID(), 10),
		"DINGTALK_CORP_ID":                ding.CorpID(),
		"DINGTALK_CALLBACK_TOKEN":         benchCallbackToken,
		"DINGTALK_CALLBACK_AES_KEY":       benchAESKey,
		"DINGTALK_OAPI_URL":               ding.URL,
		"DINGTALK_API_URL":                ding.URL,
		"NOTIFY_API_KEYS":                 "bench=bench-notify-key-0123456789",
		"DINGFN_STORE":                    "tablestore",
		"TABLESTORE_ENDPOINT":             otsURL,
		"TABLESTORE_INSTANCE":             "bench",
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     "bench-access-key-id",
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "bench-access-key-secret",
	}
}
