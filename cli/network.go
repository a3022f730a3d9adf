package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/preflight-sh/preflight/dataplane"
	"github.com/preflight-sh/preflight/fibdump"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/report"
	"github.com/preflight-sh/preflight/routing"
)

// netFlags are the ways to get a forwarding model: from a twin (its
// control plane is computed) or from a forwarding-table dump directory.
type netFlags struct {
	rawPorts bool
}

func (f *netFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.rawPorts, "raw-ports", false, "Internet2 dumps: keep the .unit suffix of port names")
}

// loadNetwork reads a forwarding model. A directory with a topo.txt is a
// forwarding-table dump (Stanford/APKeep or Internet2/Flash format);
// anything else is a twin, whose data plane is computed from its control
// plane.
func loadNetwork(path string, f netFlags) (*fwd.Network, string, error) {
	if st, err := os.Stat(filepath.Join(path, "topo.txt")); err == nil && st.Mode().IsRegular() {
		if f.rawPorts {
			n, err := fibdump.LoadInternet2(path, false)
			if err != nil {
				return nil, "", badInput(fmt.Errorf("preflight: %w", err))
			}
			return n, fibdump.FormatInternet2, nil
		}
		n, format, err := fibdump.Load(path)
		if err != nil {
			return nil, "", badInput(fmt.Errorf("preflight: %w", err))
		}
		return n, format, nil
	}
	s, err := loadTwin(path)
	if err != nil {
		return nil, "", err
	}
	return routing.BuildForwarding(s).Network, "twin", nil
}

func dataplaneCmd(e *env) *cobra.Command {
	var nf netFlags
	var format, replay string
	var forwardingOnly bool
	cmd := &cobra.Command{
		Use:   "dataplane TWIN|DUMP_DIR",
		Short: "Compile a network to equivalence classes and report its loops",
		Long: `Compile a network to equivalence classes and report its loops.

The network is a twin (its data plane is computed from its control plane)
or a directory of forwarding-table dumps in the Stanford/APKeep or the
Internet2/Flash format (recognised by its topo.txt).

With --replay FILE, the rule updates of FILE (in the format of a
Stanford/APKeep updates file) are applied one at a time to an incremental
model, each checked for the loops and black holes it creates, and the
times and findings are summed up. The model starts from the network before
the trace: for a Stanford/APKeep directory, its topology, VLANs and ACL
placement with no rules; otherwise the network as loaded.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			n, kind, err := loadNetwork(args[0], nf)
			if err != nil {
				return err
			}
			if replay != "" {
				return replayTrace(e, args[0], kind, n, replay, forwardingOnly, format)
			}
			m, err := dataplane.Build(n, dataplane.Options{ForwardingOnly: forwardingOnly})
			if err != nil {
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			sum := m.Summarize()
			return e.emit(func(w io.Writer) error {
				if format == "json" {
					return report.JSON(w, struct {
						APIVersion string `json:"apiVersion"`
						Kind       string `json:"kind"`
						Source     string `json:"source"`
						Format     string `json:"format"`
						dataplane.Summary
					}{"preflight/v1", "DataPlane", args[0], kind, sum})
				}
				return writeSummary(w, args[0], kind, sum)
			})
		},
	}
	nf.add(cmd)
	cmd.Flags().BoolVar(&forwardingOnly, "forwarding-only", false, "ignore ACLs")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&replay, "replay", "", "apply the rule updates of `FILE` one at a time, checking each")
	return cmd
}

// replayTrace runs `preflight dataplane --replay`.
func replayTrace(e *env, src, kind string, n *fwd.Network, file string, forwardingOnly bool, format string) error {
	ups, err := fibdump.ReadStanfordUpdates(file)
	if err != nil {
		return badInput(fmt.Errorf("preflight: %w", err))
	}
	start := "the network as loaded"
	if kind == fibdump.FormatStanford {
		n, start = dataplane.WithoutRules(n), "no rules"
	}
	x, err := dataplane.NewIncremental(n, dataplane.IncrementalOptions{ForwardingOnly: forwardingOnly})
	if err != nil {
		return badInput(fmt.Errorf("preflight: %w", err))
	}
	st, err := dataplane.Replay(x, ups)
	if err != nil {
		return badInput(fmt.Errorf("preflight: %s: %w", file, err))
	}
	return e.emit(func(w io.Writer) error {
		if format == "json" {
			return report.JSON(w, struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Source     string `json:"source"`
				Format     string `json:"format"`
				Trace      string `json:"trace"`
				dataplane.ReplayStats
			}{"preflight/v1", "DataPlaneReplay", src, kind, file, st})
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s (%s): replayed %s, starting from %s", src, kind, file, start)
		if forwardingOnly {
			b.WriteString(", ACLs ignored")
		}
		fmt.Fprintf(&b, "\nupdates applied: %d (%d inserts, %d deletes)\n", st.Updates, st.Inserts, st.Updates-st.Inserts)
		fmt.Fprintf(&b, "time per update (model update and loop and black-hole check): mean %.1f µs, median %.1f µs, p99 %.1f µs\n",
			st.MeanMicros, st.MedianMicros, st.P99Micros)
		counts := func(c dataplane.ClassCounts) string {
			return fmt.Sprintf("%d (forwarding alone: %d; ACLs alone: %d)", c.Classes, c.ForwardingClasses, c.ACLClasses)
		}
		fmt.Fprintf(&b, "equivalence classes after the inserts: %s\n", counts(st.AfterInserts))
		fmt.Fprintf(&b, "equivalence classes at the end: %s\n", counts(st.End))
		fmt.Fprintf(&b, "forwarding loops seen over the trace: %d\n", len(st.Loops))
		for _, l := range st.Loops {
			fmt.Fprintf(&b, "  %s  (e.g. %s)\n", strings.Join(l.Cycle, " → "), l.Example)
		}
		fmt.Fprintf(&b, "black holes: %d classes delivered or leaving the network before an update and dropped after it\n", st.BlackHoles)
		_, err := io.WriteString(w, b.String())
		return err
	})
}

func writeSummary(w io.Writer, src, kind string, s dataplane.Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %d devices, %d forwarding rules, %d ACL rules", src, kind, s.Devices, s.Rules, s.ACLRules)
	if s.ForwardingOnly {
		b.WriteString(" (ignored)")
	}
	fmt.Fprintf(&b, "\nequivalence classes: %d", s.EquivalenceClasses)
	if s.ACLRules > 0 && !s.ForwardingOnly {
		fmt.Fprintf(&b, " (forwarding alone: %d; ACLs alone: %d)", s.ForwardingClasses, s.ACLClasses)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "forwarding loops: %d\n", len(s.Loops))
	for _, l := range s.Loops {
		fmt.Fprintf(&b, "  %s  (%d classes, e.g. %s)\n", strings.Join(l.Cycle, " → "), l.Classes, l.Example)
	}
	if s.PortReuse > 0 {
		fmt.Fprintf(&b, "paths that leave through a port they came in by: %d\n", s.PortReuse)
	}
	fmt.Fprintf(&b, "black holes (devices that receive traffic they have no route for): %d\n", len(s.BlackHoles))
	for i, h := range s.BlackHoles {
		if i == 10 {
			fmt.Fprintf(&b, "  … %d more (see --format json)\n", len(s.BlackHoles)-10)
			break
		}
		fmt.Fprintf(&b, "  %s  (%d classes, e.g. %s: %s)\n", h.Device, h.Classes, h.Example, h.Path)
	}
	fmt.Fprintf(&b, "multipath inconsistencies (ECMP branches that end differently): %d\n", len(s.Inconsistent))
	for i, in := range s.Inconsistent {
		if i == 10 {
			fmt.Fprintf(&b, "  … %d more (see --format json)\n", len(s.Inconsistent)-10)
			break
		}
		fmt.Fprintf(&b, "  from %s  (%d classes, e.g. %s)\n", in.From, in.Classes, in.Example)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
