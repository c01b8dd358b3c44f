// Command dingfn is the operator command line of the dingfn bundle.
//
//	dingfn dev [--addr 127.0.0.1:9000] [--simulate]
//	dingfn tablestore-fake --addr 127.0.0.1:PORT [--data FILE]
//	dingfn bench [--quick] [--large] [--only NAME,…]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/dingfn/dingfn/shared/bench"
	"github.com/dingfn/dingfn/shared/devserver"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

const usage = `usage: dingfn <command> [flags]

commands:
  dev              run all four functions locally on one port (simulated DingTalk unless DINGTALK_APP_KEY is set)
  tablestore-fake  run the Tablestore emulator so several local processes can share one store
  bench            measure the README's performance table (run from the source tree)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A child process of `dingfn bench` (the walker whose memory it
	// measures) does its part and ends.
	if child, err := bench.RunChild(ctx, os.Getenv); child {
		if err != nil {
			fmt.Fprintln(os.Stderr, "dingfn:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "dingfn:", err)
		os.Exit(1)
	}
}

// run runs the command in args; getenv reads the environment (configuration
// and DINGFN_LOG_LEVEL / DINGFN_LOG_FORMAT, as in the functions).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("missing command")
	}
	logger := platform.NewLogger(args[0], getenv, stderr)
	switch args[0] {
	case "dev":
		fs := flag.NewFlagSet("dev", flag.ContinueOnError)
		fs.SetOutput(stderr)
		addr := fs.String("addr", devserver.DefaultAddr, "listen address")
		simulate := fs.Bool("simulate", false, "use the simulated DingTalk even when DINGTALK_APP_KEY is set")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return devserver.Run(ctx, devserver.Options{Addr: *addr, Simulate: *simulate, Getenv: getenv, Out: stdout, Logger: logger})
	case "tablestore-fake":
		fs := flag.NewFlagSet("tablestore-fake", flag.ContinueOnError)
		fs.SetOutput(stderr)
		addr := fs.String("addr", "127.0.0.1:8086", "listen address")
		data := fs.String("data", "", "persist tables to this file (in memory when empty)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		opts := []tablestoretest.Option{tablestoretest.WithLogger(logger)}
		if *data != "" {
			opts = append(opts, tablestoretest.WithDataFile(*data))
		}
		fmt.Fprintf(stdout, "Tablestore emulator on http://%s\n  DINGFN_STORE=tablestore TABLESTORE_ENDPOINT=http://%s TABLESTORE_INSTANCE=dev ALIBABA_CLOUD_ACCESS_KEY_ID=dev ALIBABA_CLOUD_ACCESS_KEY_SECRET=dev\n", *addr, *addr)
		return tablestoretest.ListenAndServe(ctx, *addr, opts...)
	case "bench":
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		fs.SetOutput(stderr)
		quick := fs.Bool("quick", false, "every row in under a minute, with noisier figures (CI runs this)")
		large := fs.Bool("large", false, "add the rows that take minutes and gigabytes (the 100 000-user walk)")
		only := fs.String("only", "", "run only the measurements whose names contain one of these comma-separated words")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		opts := bench.Options{Quick: *quick, Large: *large, Progress: stderr}
		if *only != "" {
			opts.Only = strings.Split(*only, ",")
		}
		rep, err := bench.Run(ctx, opts)
		if rep != nil {
			fmt.Fprint(stdout, rep.Markdown())
		}
		if err == nil && rep.Failed() {
			err = errors.New("bench: some measurements failed (see the table)")
		}
		return err
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
