package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/bench"
)

func (a *app) benchCommand() *cobra.Command {
	var (
		opts bench.Options
		only []string
	)
	c := &cobra.Command{
		Use:   "bench [--quick] [--large] [--only NAME,…]",
		Short: "Measure the README's performance table: every figure a ratio measured in this run",
		Long: `Measure dingfn's headline figures in one run on this machine and print them
as the markdown table the README shows, each figure a ratio to a yardstick
measured in the same run, next to its aim: the callback crypto against the
bare AES and SHA-1, the token cache's DingTalk calls under a cold burst,
the directory walk against DingTalk's rate limit, and the deployed
functions' start-up, memory and size against a hello world.

Run it from the dingfn source tree: the functions' rows build them with
the Makefile's flags. The Lambda rows need the Runtime Interface Emulator,
built from the Go module proxy on first use. A full run takes a few
minutes; --quick takes under one, with noisier figures (CI runs it);
--large adds the 100 000-user walk. It fails when a measurement fails,
not when a figure misses its aim.`,
		Example: `  dingfn bench --quick
  dingfn bench --only crypto,token
  make bench BENCHFLAGS=--large`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Only = only
			opts.Progress = a.env.Stderr
			rep, err := bench.Run(cmd.Context(), opts)
			if rep != nil {
				if perr := a.out.emit(rep.Results(), func() error {
					a.out.printf("%s", rep.Markdown())
					return nil
				}); perr != nil && err == nil {
					err = perr
				}
			}
			if err == nil && rep.Failed() {
				err = errors.New("bench: a measurement failed (its row says why)")
			}
			return err
		},
	}
	c.Flags().BoolVar(&opts.Quick, "quick", false, "every row in under a minute, with fewer repetitions and noisier figures")
	c.Flags().BoolVar(&opts.Large, "large", false, "add the rows that take minutes and gigabytes (the 100 000-user walk)")
	c.Flags().StringSliceVar(&only, "only", nil, "run only the measurements whose names contain one of these words")
	return c
}
