package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/preflight-sh/preflight/gen"
)

func genCmd(e *env) *cobra.Command {
	var o gen.Options
	cmd := &cobra.Command{
		Use:   "gen DIR",
		Short: "Write a valid, deterministic synthetic twin into DIR (for scale tests)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := gen.Write(args[0], o); err != nil {
				return badInput(fmt.Errorf("preflight: gen: %w", err))
			}
			return e.emit(func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "wrote a synthetic twin to %s\n", args[0])
				return err
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Regions, "regions", gen.DefaultRegions, "regions")
	f.IntVar(&o.ZonesPerRegion, "zones", gen.DefaultZonesPerRegion, "availability zones per region")
	f.IntVar(&o.Services, "services", gen.DefaultServices, "services")
	f.IntVar(&o.Instances, "instances", gen.DefaultInstances, "instances in all")
	f.IntVar(&o.Routers, "routers", gen.DefaultRouters, "routers in all")
	f.Int64Var(&o.Seed, "seed", 1, "random seed (same seed, same twin)")
	return cmd
}
