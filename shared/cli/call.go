package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/dingtalk"
)

func (a *app) callCommand() *cobra.Command {
	var (
		data       string
		list       bool
		httpMethod string
		generation string
	)
	c := &cobra.Command{
		Use:   "call METHOD [key=value | key:=json]…",
		Short: "Call any DingTalk API by method name and print its JSON reply",
		Long: `Call a DingTalk API by name, as the old SDKs' app.run(...) did, with the
app's shared access token, rate limits and retries, and print the reply.

METHOD is an endpoint path (topapi/v2/user/get, v1.0/workflow/processInstances)
or a legacy method name (dingtalk.corp.ext.listlabelgroups); --list shows
every known name. A path the list does not know is called with --http and
--generation.

Parameters (the JSON body of a POST, the query of a GET):
  key=value    a string
  key:=json    any JSON value: a number, true, an array, an object
  --data JSON  a whole JSON object (@FILE reads a file, @- standard input);
               key=value pairs are set on top of it`,
		Example: `  dingfn call topapi/v2/user/get userid=manager4220
  dingfn call topapi/v2/department/listsub dept_id:=1
  dingfn call dingtalk.corp.ext.listlabelgroups size:=20 offset:=0
  dingfn call topapi/message/corpconversation/getsendprogress --data @progress.json
  dingfn call topapi/blackboard/listtopten --http POST --generation oapi userid=manager4220
  dingfn call --list`,
		Args: args(cobra.ArbitraryArgs),
		ValidArgsFunction: func(cmd *cobra.Command, argv []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(argv) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return dingtalk.DefaultRegistry().Names(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, argv []string) error {
			reg := dingtalk.DefaultRegistry()
			if list {
				return a.listMethods(reg)
			}
			if len(argv) == 0 {
				return usageErrorf(cmd, "missing METHOD: an endpoint path or legacy method name (dingfn call --list shows them)")
			}
			name := argv[0]
			params, err := callParams(a.env.Stdin, data, argv[1:])
			if err != nil {
				return &UsageError{Command: cmd.CommandPath(), Err: err}
			}
			if _, known := reg.Lookup(name); !known || httpMethod != "" || generation != "" {
				if err := registerCustom(reg, name, httpMethod, generation); err != nil {
					return &UsageError{Command: cmd.CommandPath(), Err: err}
				}
			}
			b, err := a.open(cmd.Context(), cmd, needApp)
			if err != nil {
				return err
			}
			defer b.Close()
			client, err := dingtalk.NewClient(b.Config.AppKey, b.Config.AppSecret,
				dingtalk.WithBaseURLs(b.Config.OAPIURL, b.Config.APIURL),
				dingtalk.WithTokenSource(b.Tokens),
				dingtalk.WithRegistry(reg),
				dingtalk.WithLogger(a.logger(cmd.CommandPath())))
			if err != nil {
				return err
			}
			var reply json.RawMessage
			if err := client.Call(cmd.Context(), name, params, &reply); err != nil {
				return err
			}
			// The reply is JSON whatever --json says: it is DingTalk's.
			var v any
			if err := json.Unmarshal(reply, &v); err != nil {
				_, err = a.env.Stdout.Write(append(reply, '\n'))
				return err
			}
			return writeJSON(a.env.Stdout, v)
		},
	}
	f := c.Flags()
	f.StringVarP(&data, "data", "d", "", "the parameters as a JSON object; @`FILE` reads a file, @- standard input")
	f.BoolVar(&list, "list", false, "list the method names and paths call knows")
	f.StringVar(&httpMethod, "http", "", "HTTP method GET or POST, for a path the list does not know")
	f.StringVar(&generation, "generation", "", "API generation oapi (token in the query, errcode replies) or api (/v1.0, token header), for a path the list does not know")
	_ = c.RegisterFlagCompletionFunc("http", cobra.FixedCompletions([]string{http.MethodGet, http.MethodPost}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("generation", cobra.FixedCompletions([]string{"oapi", "api"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// listMethods prints the registry.
func (a *app) listMethods(reg *dingtalk.Registry) error {
	type method struct {
		Name       string `json:"name"`
		HTTPMethod string `json:"http_method"`
		Generation string `json:"generation"`
		Path       string `json:"path"`
		Safe       bool   `json:"safe"`
	}
	var list []method
	for _, n := range reg.Names() {
		m, _ := reg.Lookup(n)
		gen := "oapi"
		if m.Generation == dingtalk.API {
			gen = "api"
		}
		list = append(list, method{Name: n, HTTPMethod: m.HTTPMethod, Generation: gen, Path: m.Path, Safe: m.Safe})
	}
	return a.out.emit(map[string]any{"methods": list}, func() error {
		rows := make([][]string, 0, len(list))
		for _, m := range list {
			retry := "no"
			if m.Safe {
				retry = "yes"
			}
			rows = append(rows, []string{m.Name, m.HTTPMethod, m.Generation, m.Path, retry})
		}
		a.out.table([]string{"NAME", "HTTP", "GENERATION", "PATH", "RESENT ON DOUBT"}, rows)
		return nil
	})
}

// registerCustom registers name as a path of the given method and
// generation, for an API the registry does not know.
func registerCustom(reg *dingtalk.Registry, name, httpMethod, generation string) error {
	if httpMethod == "" || generation == "" {
		return fmt.Errorf("unknown method %q: pass --http GET|POST and --generation oapi|api to call a path dingfn does not know (dingfn call --list shows the known ones)", name)
	}
	m := dingtalk.Method{HTTPMethod: strings.ToUpper(httpMethod), Path: name}
	switch generation {
	case "oapi":
		m.Generation = dingtalk.OAPI
	case "api":
		m.Generation = dingtalk.API
	default:
		return fmt.Errorf("--generation must be oapi or api, got %q", generation)
	}
	if m.HTTPMethod != http.MethodGet && m.HTTPMethod != http.MethodPost {
		return fmt.Errorf("--http must be GET or POST, got %q", httpMethod)
	}
	if strings.HasPrefix(strings.TrimPrefix(name, "/"), "dingtalk.") || !strings.Contains(name, "/") {
		return fmt.Errorf("unknown method %q: a method name the list does not know cannot be called; give its endpoint path", name)
	}
	return reg.Register(name, m)
}

// callParams builds the parameter object from --data and key=value pairs.
func callParams(stdin io.Reader, data string, pairs []string) (map[string]any, error) {
	params := map[string]any{}
	if data != "" {
		raw := []byte(data)
		if rest, ok := strings.CutPrefix(data, "@"); ok {
			var err error
			if rest == "-" {
				raw, err = io.ReadAll(stdin)
			} else {
				raw, err = os.ReadFile(rest)
			}
			if err != nil {
				return nil, fmt.Errorf("--data: %w", err)
			}
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&params); err != nil {
			return nil, fmt.Errorf("--data must be a JSON object: %w", err)
		}
		if params == nil {
			return nil, errors.New("--data must be a JSON object, got null")
		}
	}
	for _, p := range pairs {
		key, value, ok := strings.Cut(p, "=")
		if !ok || key == "" || key == ":" {
			return nil, fmt.Errorf("parameter %q must be key=value or key:=json", p)
		}
		if k, isJSON := strings.CutSuffix(key, ":"); isJSON {
			dec := json.NewDecoder(strings.NewReader(value))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil || dec.More() {
				return nil, fmt.Errorf("parameter %s: %q is not one JSON value (use %s=%s for a string)", k, value, k, value)
			}
			params[k] = v
			continue
		}
		params[key] = value
	}
	return params, nil
}
