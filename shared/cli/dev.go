package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/devserver"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

func (a *app) devCommand() *cobra.Command {
	var (
		addr     string
		simulate bool
	)
	c := &cobra.Command{
		Use:   "dev [--addr 127.0.0.1:9000] [--simulate]",
		Short: "Run all four functions locally on one port, the console at / (simulated DingTalk unless DINGTALK_APP_KEY is set)",
		Long: `Run callback, notify, sync and token-refresher in one process on one port,
on the embedded store. Without DINGTALK_APP_KEY (or with --simulate) it
talks to a simulated DingTalk with a demo organisation and prints
ready-to-paste curl lines; with the configuration set, to your real app.
The console page at / shows the organisation, the event log, the sync,
tokens and notices live. Logs follow DINGFN_LOG_LEVEL and DINGFN_LOG_FORMAT, as in the functions.`,
		Example: `  dingfn dev
  dingfn dev --addr 127.0.0.1:9100 --simulate
  dingfn --env-file dev.env dev`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return devserver.Run(cmd.Context(), devserver.Options{
				Addr: addr, Simulate: simulate, Getenv: a.getenv, Out: a.env.Stdout,
				Logger: platform.NewLogger("dev", a.getenv, a.env.Stderr),
			})
		},
	}
	c.Flags().StringVar(&addr, "addr", devserver.DefaultAddr, "listen address")
	c.Flags().BoolVar(&simulate, "simulate", false, "use the simulated DingTalk even when DINGTALK_APP_KEY is set")
	return c
}

func (a *app) consoleCommand() *cobra.Command {
	var addr string
	c := &cobra.Command{
		Use:   "console [--addr 127.0.0.1:9100]",
		Short: "Serve the console page against the configured DingTalk app and store",
		Long: `Serve the console (the page dingfn dev shows at /) alone, against your
real app and store: the organisation from the directory mirror, the event
log with its replay button, the sync's status and "sync now", token health
and the notices of the last day. With DINGTALK_AGENT_ID set its form sends
real work notices. It needs the configuration the sync function needs;
replay and sync now run in this process under the deployed sync's leases.
It listens on this machine only unless --addr says otherwise, and answers
requests addressed to an IP address or localhost.`,
		Example: `  dingfn --env-file ~/.config/dingfn/prod.env console
  dingfn console --addr 127.0.0.1:9200`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return devserver.RunConsole(cmd.Context(), devserver.Options{
				Addr: addr, Getenv: a.getenv, Out: a.env.Stdout,
				Logger: platform.NewLogger("console", a.getenv, a.env.Stderr),
			})
		},
	}
	c.Flags().StringVar(&addr, "addr", devserver.DefaultConsoleAddr, "listen address")
	return c
}

func (a *app) tablestoreFakeCommand() *cobra.Command {
	var addr, data string
	c := &cobra.Command{
		Use:   "tablestore-fake --addr 127.0.0.1:PORT [--data FILE]",
		Short: "Run the Tablestore emulator so several local processes can share one store",
		Long: `Run the protocol-level Tablestore emulator (shared/store/tablestoretest) on
addr, keeping its tables in memory or in the bbolt file --data, and print
the variables that point the functions and dingfn at it.`,
		Example: `  dingfn tablestore-fake --addr 127.0.0.1:8086 --data .dingfn/ots.db`,
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := []tablestoretest.Option{tablestoretest.WithLogger(platform.NewLogger("tablestore-fake", a.getenv, a.env.Stderr))}
			if data != "" {
				opts = append(opts, tablestoretest.WithDataFile(data))
			}
			fmt.Fprintf(a.env.Stdout, "Tablestore emulator on http://%s\n  DINGFN_STORE=tablestore TABLESTORE_ENDPOINT=http://%s TABLESTORE_INSTANCE=dev ALIBABA_CLOUD_ACCESS_KEY_ID=dev ALIBABA_CLOUD_ACCESS_KEY_SECRET=dev\n", addr, addr)
			return tablestoretest.ListenAndServe(cmd.Context(), addr, opts...)
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8086", "listen address")
	c.Flags().StringVar(&data, "data", "", "persist tables to this `FILE` (in memory when empty)")
	return c
}
