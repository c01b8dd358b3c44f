package cli

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/token"
)

func (a *app) jsapiCommand() *cobra.Command {
	var (
		sha256 bool
		list   []string
	)
	sign := &cobra.Command{
		Use:   "sign URL",
		Short: "Sign a page URL for dd.config (JSAPI 鉴权) with the shared jsapi ticket",
		Long: `Print the dd.config parameters for the page at URL: agentId, corpId,
timeStamp, nonceStr and signature, signed with the jsapi ticket the
functions share. URL must be the page's location.href exactly as the
browser shows it (same scheme, host, port, path and query; the #fragment
is dropped). DingTalk answers a mismatch with error 52013.`,
		Example: `  dingfn jsapi sign 'https://app.example.com/page?x=1'
  dingfn jsapi sign https://app.example.com/ --jsapi biz.contact.choose,device.notification.alert --json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			b, err := a.open(cmd.Context(), cmd, needJSAPI)
			if err != nil {
				return err
			}
			defer b.Close()
			var opts []token.SignerOption
			if sha256 {
				opts = append(opts, token.WithSHA256())
			}
			signer, err := token.NewJSAPISigner(b.Tokens, b.Config.CorpID, strconv.FormatInt(b.Config.AgentID, 10), opts...)
			if err != nil {
				return err
			}
			cfg, err := signer.Config(cmd.Context(), argv[0], list...)
			if errors.Is(err, token.ErrBadPageURL) {
				return &UsageError{Command: cmd.CommandPath(), Err: err}
			}
			if err != nil {
				return err
			}
			return a.out.emit(cfg, func() error {
				a.out.fields([][2]string{
					{"agentId", cfg.AgentID},
					{"corpId", cfg.CorpID},
					{"timeStamp", strconv.FormatInt(cfg.TimeStamp, 10)},
					{"nonceStr", cfg.NonceStr},
					{"signature", cfg.Signature},
					{"jsApiList", strings.Join(cfg.JSAPIList, ", ")},
				})
				return nil
			})
		},
	}
	sign.Flags().BoolVar(&sha256, "sha256", false, "sign with SHA-256 (DingTalk's current sample) instead of SHA-1")
	sign.Flags().StringSliceVar(&list, "jsapi", nil, "jsApiList `NAMES` to pass through, comma-separated")
	return group("jsapi", "Sign pages for the DingTalk JSAPI (dd.config)",
		"  dingfn jsapi sign https://app.example.com/page", sign)
}

// Kinds of login code `dingfn login` exchanges.
const (
	loginInApp = "in_app" // 免登 code from dd.runtime.permission.requestAuthCode
	loginScan  = "scan"   // QR/web login (扫码登录) redirect code
)

// loginResult is the JSON form of `dingfn login`: who the code belongs to,
// never a token.
type loginResult struct {
	Kind    string `json:"kind"`
	UserID  string `json:"userid"`
	UnionID string `json:"unionid,omitempty"`
	Name    string `json:"name,omitempty"`
	// In-app (免登) codes.
	DeviceID string `json:"device_id,omitempty"`
	Admin    bool   `json:"admin,omitempty"`
	SysLevel int    `json:"sys_level,omitempty"`
	// Scan codes.
	CorpID      string `json:"corp_id,omitempty"`
	ContactType *int   `json:"contact_type,omitempty"`
	Email       string `json:"email,omitempty"`
	Mobile      string `json:"mobile,omitempty"`
}

func (a *app) loginCommand() *cobra.Command {
	kind := loginInApp
	c := &cobra.Command{
		Use:   "login CODE [--kind in_app|scan]",
		Short: "Exchange a login code for the user it belongs to",
		Long: `Resolve a login code to the DingTalk user, to check a login integration:
  in_app  a 免登 code from the DingTalk client (dd.runtime.permission.requestAuthCode),
          through topapi/v2/user/getuserinfo
  scan    the code of a QR or web login redirect (扫码登录): user token, profile,
          then unionid to userid
Codes work once and expire after 5 minutes. No token is printed.`,
		Example: `  dingfn login 0a1b2c3d4e5f
  dingfn login 9f8e7d6c --kind scan --json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if kind != loginInApp && kind != loginScan {
				return usageErrorf(cmd, "--kind must be %s or %s, got %q", loginInApp, loginScan, kind)
			}
			b, err := a.open(cmd.Context(), cmd, needApp)
			if err != nil {
				return err
			}
			defer b.Close()
			r := loginResult{Kind: kind}
			if kind == loginInApp {
				u, err := b.Client.Auth.GetUserInfo(cmd.Context(), argv[0])
				if err != nil {
					return err
				}
				r.UserID, r.UnionID, r.Name, r.DeviceID, r.Admin, r.SysLevel = u.UserID, u.UnionID, u.Name, u.DeviceID, u.Sys, u.SysLevel
			} else {
				id, err := b.Client.Auth.LoginUser(cmd.Context(), argv[0])
				if err != nil {
					return err
				}
				r.UserID, r.UnionID, r.Name, r.CorpID, r.ContactType = id.UserID, id.UnionID, id.Nick, id.CorpID, new(id.ContactType)
				if id.Profile != nil {
					r.Email, r.Mobile = id.Profile.Email, id.Profile.Mobile
				}
			}
			return a.out.emit(r, func() error {
				pairs := [][2]string{{"userid", r.UserID}, {"name", orDash(r.Name)}, {"unionid", orDash(r.UnionID)}}
				if kind == loginInApp {
					pairs = append(pairs, [2]string{"admin", adminText(r.Admin, r.SysLevel)})
				} else {
					pairs = append(pairs, [2]string{"corp", orDash(r.CorpID)}, [2]string{"contact", contactText(*r.ContactType)})
				}
				a.out.fields(pairs)
				return nil
			})
		},
	}
	c.Flags().StringVar(&kind, "kind", loginInApp, "what the code is: in_app (免登) or scan (QR/web login)")
	_ = c.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{loginInApp, loginScan}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func adminText(sys bool, level int) string {
	if !sys {
		return "no"
	}
	switch level {
	case 1:
		return "yes (main administrator)"
	case 2:
		return "yes (sub-administrator)"
	case 100:
		return "yes (boss)"
	}
	return "yes"
}

func contactText(t int) string {
	if t == 1 {
		return "external contact"
	}
	return "employee"
}
