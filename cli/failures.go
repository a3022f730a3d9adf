package cli

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/preflight-sh/preflight/failures"
	"github.com/preflight-sh/preflight/report"
	"github.com/preflight-sh/preflight/tracer"
)

func failuresCmd(e *env) *cobra.Command {
	var o failures.Options
	var from, to, dst, format string
	cmd := &cobra.Command{
		Use:   "failures TWIN [--k 1|2] [--links] [--devices] [--sites] [--from DEVICE --to DEVICE [--dst PREFIX]] [--first] [--format text|json]",
		Short: "Check that reachability survives every set of up to k failed links, devices or sites",
		Long: `Check that reachability survives every set of up to k failed links, devices
or sites, and show each minimal failing set with a packet, its path with
nothing failed and its fate with the set failed.

The invariant is all-pairs reachability (every up device delivers every
packet to every other up device's loopbacks) unless --from and --to name
two devices: then every packet from one to the other's addresses (or to
--dst) must be delivered. Links fail unless --devices or --sites is given
(give --links too to fail all of them).

Exit codes: 0 the invariant holds, 1 a failing set exists (or it fails
with nothing failed), 2 bad input or usage.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if o.K != 1 && o.K != 2 {
				return badInput(fmt.Errorf("preflight: --k %d: give 1 or 2", o.K))
			}
			var inv failures.Invariant = failures.AllPairs{}
			switch {
			case (from == "") != (to == ""):
				return badInput(fmt.Errorf("preflight: give both --from DEVICE and --to DEVICE, or neither for all pairs"))
			case dst != "" && from == "":
				return badInput(fmt.Errorf("preflight: --dst needs --from and --to"))
			case from != "":
				r := failures.Reach{From: from, To: to}
				if dst != "" {
					p, err := parsePrefix(dst)
					if err != nil {
						return badInput(fmt.Errorf("preflight: --dst %q: give a prefix (10.20.0.0/16) or an address", dst))
					}
					r.Dst = p
				}
				inv = r
			}
			s, err := loadTwin(args[0])
			if err != nil {
				return err
			}
			r, err := failures.Sweep(s, inv, o)
			if err != nil {
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			err = e.emit(func(w io.Writer) error {
				if format == "json" {
					return report.JSON(w, map[string]any{
						"apiVersion": "preflight/v1", "kind": "FailureTolerance", "twin": args[0],
						"result": r, "findings": failures.Findings(s, r),
					})
				}
				return writeFailures(w, args[0], r, e.color)
			})
			if err != nil {
				return err
			}
			if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				fmt.Fprintf(e.stderr, "preflight: %d data planes computed in %.1fs\n", r.Stats.Checked+1, r.Elapsed.Seconds())
			}
			if !r.Holds {
				return &exitError{code: ExitBlocked}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.K, "k", 1, "largest number of elements failed at once: 1 or 2")
	f.BoolVar(&o.Links, "links", false, "fail links (the default when nothing else is chosen)")
	f.BoolVar(&o.Devices, "devices", false, "fail devices")
	f.BoolVar(&o.Sites, "sites", false, "fail sites (all their devices)")
	f.BoolVar(&o.First, "first", false, "stop at the first failing set")
	f.BoolVar(&o.Exhaustive, "exhaustive", false, "check every set, without the reductions")
	f.StringVar(&from, "from", "", "device the packets start at (with --to)")
	f.StringVar(&to, "to", "", "device they must be delivered to (with --from)")
	f.StringVar(&dst, "dst", "", "destination prefix at --to, instead of its addresses")
	f.StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// writeFailures renders a sweep's result as text.
func writeFailures(w io.Writer, twinPath string, r *failures.Result, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "failures: %s\n", r.Invariant)
	fmt.Fprintf(&b, "twin %s; failing %s, up to %d at a time (%d elements)\n\n", twinPath, strings.Join(plural(r.Kinds), " and "), r.K, r.Stats.Elements)
	switch {
	case r.Baseline != nil:
		fmt.Fprintf(&b, "%s with nothing failed\n", paint("1;31", "FAILS"))
		writeViolation(&b, "   ", r.Baseline)
	case r.Holds && r.Stats.Unchecked > 0:
		fmt.Fprintf(&b, "%s under every set checked\n", paint("1;32", "HOLDS"))
	case r.Holds:
		fmt.Fprintf(&b, "%s under every set of up to %d failed %s\n", paint("1;32", "HOLDS"), r.K, strings.Join(plural(r.Kinds), " or "))
	default:
		fmt.Fprintf(&b, "%s: %d minimal failing set(s)\n", paint("1;31", "FAILS"), len(r.Failing))
	}
	for i, fs := range r.Failing {
		names := make([]string, len(fs.Elements))
		for j, el := range fs.Elements {
			names[j] = el.String()
		}
		fmt.Fprintf(&b, "\n%d. %s\n", i+1, strings.Join(names, " and "))
		if len(fs.SameAs) > 0 {
			same := make([]string, len(fs.SameAs))
			for j, el := range fs.SameAs {
				same[j] = el.String()
			}
			fmt.Fprintf(&b, "   symmetric to %s (interchangeable parallel links): same outcome\n", strings.Join(same, " and "))
			continue
		}
		writeViolation(&b, "   ", fs.Violation)
	}
	st := r.Stats
	fmt.Fprintf(&b, "\nsets: %d considered, %d checked; skipped %d symmetric, %d proven to hold, %d subsumed, %d not minimal, %d vacuous",
		st.Considered, st.Checked, st.Symmetric, st.Proven, st.Subsumed, st.NonMinimal, st.Vacuous)
	if st.Unchecked > 0 {
		fmt.Fprintf(&b, "; %d left unchecked", st.Unchecked)
	}
	b.WriteString("\nreductions:\n")
	for _, red := range r.Reductions {
		fmt.Fprintf(&b, "  %s\n", red)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeViolation renders how a state breaks the invariant.
func writeViolation(b *strings.Builder, indent string, v *failures.Violation) {
	if v == nil {
		return
	}
	ex := v.Example
	fmt.Fprintf(b, "%s%d of %d demands fail, e.g. %s from %s to %s\n", indent, v.Broken, v.Demands, ex.Packet, ex.From, ex.To)
	writePaths(b, indent+"  before: ", ex.Before)
	writePaths(b, indent+"  after:  ", ex.After)
}

// writePaths renders up to four paths, failing ones first.
func writePaths(b *strings.Builder, head string, paths []tracer.Path) {
	const most = 4
	pad := strings.Repeat(" ", len(head))
	n := 0
	for _, delivered := range []bool{false, true} {
		for _, p := range paths {
			if (p.Fate == tracer.Delivered) != delivered || n == most {
				continue
			}
			lead := pad
			if n == 0 {
				lead = head
			}
			n++
			fmt.Fprintf(b, "%s%s", lead, p)
			if p.Fate != tracer.Delivered {
				fmt.Fprintf(b, " (%s)", p.Why)
			}
			b.WriteString("\n")
		}
	}
	if len(paths) > most {
		fmt.Fprintf(b, "%s… and %d more path(s)\n", pad, len(paths)-most)
	}
}

func plural(kinds []string) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k + "s"
	}
	return out
}
