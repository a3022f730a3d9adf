package cli

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/dataplane"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/hdr"
	"github.com/preflight-sh/preflight/report"
	"github.com/preflight-sh/preflight/tracer"
)

// headerFlags constrain packets: one concrete packet for trace, a set of
// packets for reach.
type headerFlags struct {
	src, dst     string
	proto        string
	dport, sport string
}

func (h *headerFlags) add(cmd *cobra.Command, concrete bool) {
	what, ports := "prefix", " or range (443, 8000-8080)"
	if concrete {
		what, ports = "address", ""
	}
	cmd.Flags().StringVar(&h.dst, "dst", "", "destination "+what)
	cmd.Flags().StringVar(&h.src, "src", "", "source "+what)
	cmd.Flags().StringVar(&h.proto, "proto", "", "protocol: tcp, udp, icmp or a number")
	cmd.Flags().StringVar(&h.dport, "dport", "", "destination port"+ports)
	cmd.Flags().StringVar(&h.sport, "sport", "", "source port"+ports)
}

func parseProto(s string) (fwd.Range, error) {
	switch strings.ToLower(s) {
	case "":
		return fwd.AnyProto, nil
	case "tcp":
		return fwd.Range{Lo: 6, Hi: 6}, nil
	case "udp":
		return fwd.Range{Lo: 17, Hi: 17}, nil
	case "icmp":
		return fwd.Range{Lo: 1, Hi: 1}, nil
	case "icmpv6":
		return fwd.Range{Lo: 58, Hi: 58}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return fwd.Range{}, fmt.Errorf("--proto %q: use tcp, udp, icmp, icmpv6 or a number from 0 to 255", s)
	}
	return fwd.Range{Lo: n, Hi: n}, nil
}

func parsePorts(flag, s string) (fwd.Range, error) {
	if s == "" {
		return fwd.AnyPort, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || a < 0 || b > 65535 || a > b {
		return fwd.Range{}, fmt.Errorf("--%s %q: use a port (443) or a range (8000-8080) within 0-65535", flag, s)
	}
	return fwd.Range{Lo: a, Hi: b}, nil
}

// packet builds the concrete packet of trace.
func (h *headerFlags) packet() (fwd.Packet, error) {
	var p fwd.Packet
	dst, err := netip.ParseAddr(h.dst)
	if err != nil {
		return p, fmt.Errorf("--dst %q: give a destination address such as 203.0.113.10", h.dst)
	}
	p.Dst = dst
	p.Src = netip.IPv4Unspecified()
	if dst.Is6() {
		p.Src = netip.IPv6Unspecified()
	}
	if h.src != "" {
		if p.Src, err = netip.ParseAddr(h.src); err != nil {
			return p, fmt.Errorf("--src %q: give a source address", h.src)
		}
	}
	proto, err := parseProto(h.proto)
	if err != nil {
		return p, err
	}
	if h.proto == "" {
		proto = fwd.Range{Lo: 6, Hi: 6}
	}
	if proto.Lo != proto.Hi {
		return p, fmt.Errorf("--proto: give one protocol")
	}
	p.Proto = uint8(proto.Lo)
	for _, f := range []struct {
		name, text string
		def        int
		out        *uint16
	}{{"dport", h.dport, 443, &p.DstPort}, {"sport", h.sport, 49152, &p.SrcPort}} {
		r := fwd.Range{Lo: f.def, Hi: f.def}
		if f.text != "" {
			if r, err = parsePorts(f.name, f.text); err != nil {
				return p, err
			}
		}
		if r.Lo != r.Hi {
			return p, fmt.Errorf("--%s: give one port for a trace", f.name)
		}
		*f.out = uint16(r.Lo)
	}
	return p, nil
}

// set builds the packet set of reach.
func (h *headerFlags) set(s *hdr.Space) (bdd.Node, error) {
	M := s.M
	set := M.True()
	for _, f := range []struct {
		name, text string
		build      func(netip.Prefix) (bdd.Node, error)
	}{{"dst", h.dst, s.DstPrefix}, {"src", h.src, s.SrcPrefix}} {
		if f.text == "" {
			continue
		}
		p, err := netip.ParsePrefix(f.text)
		if err != nil {
			a, aerr := netip.ParseAddr(f.text)
			if aerr != nil {
				return 0, fmt.Errorf("--%s %q: give a prefix (203.0.113.0/24) or an address", f.name, f.text)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		n, err := f.build(p.Masked())
		if err != nil {
			return 0, fmt.Errorf("--%s: %w", f.name, err)
		}
		set = M.And(set, n)
	}
	proto, err := parseProto(h.proto)
	if err != nil {
		return 0, err
	}
	dport, err := parsePorts("dport", h.dport)
	if err != nil {
		return 0, err
	}
	sport, err := parsePorts("sport", h.sport)
	if err != nil {
		return 0, err
	}
	return M.AndN(set, s.Proto(proto), s.DstPort(dport), s.SrcPort(sport)), nil
}

func traceCmd(e *env) *cobra.Command {
	var nf netFlags
	var hf headerFlags
	var from, format string
	cmd := &cobra.Command{
		Use:   "trace TWIN|DUMP_DIR --from DEVICE --dst IP [--src IP] [--proto P] [--dport N]",
		Short: "Follow one packet hop by hop: every ECMP branch, the rule or ACL line that decided each hop, and its fate",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if from == "" {
				return badInput(fmt.Errorf("preflight: trace needs --from DEVICE"))
			}
			p, err := hf.packet()
			if err != nil {
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			n, _, err := loadNetwork(args[0], nf)
			if err != nil {
				return err
			}
			paths, err := tracer.Trace(n, from, "", p)
			if err != nil && paths == nil {
				return badInput(fmt.Errorf("preflight: %w (devices: %s)", err, strings.Join(first(n.DeviceNames(), 10), ", ")))
			}
			return e.emit(func(w io.Writer) error {
				if format == "json" {
					return report.JSON(w, map[string]any{"apiVersion": "preflight/v1", "kind": "Trace", "packet": p, "from": from, "paths": paths})
				}
				var b strings.Builder
				fmt.Fprintf(&b, "trace %s from %s: %d path(s)\n", p, from, len(paths))
				for i, path := range paths {
					fmt.Fprintf(&b, "\npath %d: %s — %s\n", i+1, strings.ToUpper(string(path.Fate)), path.Why)
					for _, h := range path.Hops {
						in := ""
						if h.InPort != "" {
							in = " (in " + h.InPort + ")"
						}
						fmt.Fprintf(&b, "  %s%s\n", h.Device, in)
						for _, a := range h.ACLs {
							fmt.Fprintf(&b, "      acl  %s\n", a)
						}
						if h.Rule != "" {
							fmt.Fprintf(&b, "      rule %s\n", h.Rule)
						}
						if h.OutPort != "" {
							fmt.Fprintf(&b, "      out  %s\n", h.OutPort)
						}
					}
				}
				if err != nil {
					fmt.Fprintf(&b, "\n%v\n", err)
				}
				_, werr := io.WriteString(w, b.String())
				return werr
			})
		},
	}
	nf.add(cmd)
	hf.add(cmd, true)
	cmd.Flags().StringVar(&from, "from", "", "device the packet starts at")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func reachCmd(e *env) *cobra.Command {
	var nf netFlags
	var hf headerFlags
	var from, to, format, expect, via string
	var forwardingOnly bool
	cmd := &cobra.Command{
		Use:   "reach TWIN|DUMP_DIR --from DEVICE --to DEVICE [--dst PREFIX] [--src PREFIX] [--proto P] [--dport N] [--expect reach|isolated] [--via DEVICE]",
		Short: "Which packets from one device are delivered to another, and where and why the others are dropped",
		Long: `Which packets from one device are delivered to another, and where and why the
others are dropped: every class of packets, with one example packet and its
path, for all packets at once.

With --expect reach every packet (within the header constraints) must reach
--to; with --expect isolated none may; with --via every packet that reaches
--to must pass through that device (a waypoint). The exit code is 1 when an
expectation fails, with the offending classes as counterexamples.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if expect != "" && expect != "reach" && expect != "isolated" {
				return badInput(fmt.Errorf("preflight: --expect %q: use reach or isolated", expect))
			}
			if from == "" || to == "" {
				return badInput(fmt.Errorf("preflight: reach needs --from DEVICE and --to DEVICE"))
			}
			n, _, err := loadNetwork(args[0], nf)
			if err != nil {
				return err
			}
			if via != "" && n.Devices[via] == nil {
				return badInput(fmt.Errorf("preflight: --via %q is not a device", via))
			}
			if n.Devices[to] == nil {
				return badInput(fmt.Errorf("preflight: --to %q is not a device (devices: %s)", to, strings.Join(first(n.DeviceNames(), 10), ", ")))
			}
			m, err := dataplane.Build(n, dataplane.Options{ForwardingOnly: forwardingOnly})
			if err != nil {
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			within, err := hf.set(m.Space)
			if err != nil {
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			outs, err := m.Outcomes(from, within)
			if err != nil {
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			classes := reachClasses(m, to, via, outs)
			failed := 0
			for _, c := range classes {
				if c.Violates = (expect == "reach" && !c.Reaches) || (expect == "isolated" && c.Reaches) || (c.Reaches && via != "" && !c.Via); c.Violates {
					failed++
				}
			}
			err = e.emit(func(w io.Writer) error { return writeReach(w, from, to, format, expect, via, classes, failed) })
			if err == nil && failed > 0 {
				return &exitError{code: ExitBlocked}
			}
			return err
		},
	}
	nf.add(cmd)
	hf.add(cmd, false)
	cmd.Flags().StringVar(&from, "from", "", "device the packets start at")
	cmd.Flags().StringVar(&to, "to", "", "device they should be delivered to")
	cmd.Flags().BoolVar(&forwardingOnly, "forwarding-only", false, "ignore ACLs")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&expect, "expect", "", "reach: every packet must reach --to; isolated: none may")
	cmd.Flags().StringVar(&via, "via", "", "waypoint every packet that reaches --to must pass through")
	return cmd
}

// reachClass is one group of reach's answer.
type reachClass struct {
	Reaches  bool         `json:"reaches"`
	Via      bool         `json:"viaWaypoint,omitempty"`
	Violates bool         `json:"violates,omitempty"`
	Fate     tracer.Fate  `json:"fate"`
	Where    string       `json:"where"`
	Why      string       `json:"why"`
	Dst      []string     `json:"dstPrefixes,omitempty"`
	Example  string       `json:"example"`
	Path     string       `json:"path"`
	Classes  int          `json:"classes"`
	Hops     []tracer.Hop `json:"hops"`
}

// reachClasses turns outcomes into reach's answer.
func reachClasses(m *dataplane.Model, to, via string, outs []dataplane.Outcome) []reachClass {
	var classes []reachClass
	for _, o := range outs {
		c := reachClass{
			Reaches: (o.Fate == tracer.Delivered || o.Fate == tracer.Exited) && strings.Fields(o.Where)[0] == to,
			Fate:    o.Fate, Where: o.Where, Why: o.Why,
			Example: o.Example.String(), Path: o.Path.String(), Classes: o.Classes, Hops: o.Path.Hops,
		}
		for _, d := range o.Common {
			c.Via = c.Via || d == via
		}
		if ps, _ := m.Space.DstPrefixes(o.Set, 8); len(ps) > 0 {
			for _, p := range ps {
				c.Dst = append(c.Dst, p.String())
			}
		}
		classes = append(classes, c)
	}
	return classes
}

func writeReach(w io.Writer, from, to, format, expect, via string, classes []reachClass, failed int) error {
	if format == "json" {
		return report.JSON(w, map[string]any{"apiVersion": "preflight/v1", "kind": "Reach", "from": from, "to": to, "expect": expect, "via": via, "violations": failed, "outcomes": classes})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "reach from %s to %s\n", from, to)
	if expect != "" || via != "" {
		want := []string{}
		if expect != "" {
			want = append(want, "expect "+expect)
		}
		if via != "" {
			want = append(want, "via "+via)
		}
		verdict := "HOLDS"
		if failed > 0 {
			verdict = fmt.Sprintf("FAILS: %d group(s) are counterexamples (marked ✗)", failed)
		}
		fmt.Fprintf(&b, "%s: %s\n", strings.Join(want, ", "), verdict)
	}
	for _, reaches := range []bool{true, false} {
		title := "reach " + to + " (delivered there, or leave the network there)"
		if !reaches {
			title = "do not reach " + to
		}
		n := 0
		for _, c := range classes {
			if c.Reaches == reaches {
				n++
			}
		}
		fmt.Fprintf(&b, "\n%s: %d group(s)\n", title, n)
		for _, c := range classes {
			if c.Reaches != reaches {
				continue
			}
			mark := " "
			if c.Violates {
				mark = "✗"
			}
			fmt.Fprintf(&b, "%s %s at %s — %s\n", mark, strings.ToUpper(string(c.Fate)), c.Where, c.Why)
			if len(c.Dst) > 0 {
				fmt.Fprintf(&b, "    destinations: %s\n", strings.Join(c.Dst, ", "))
			}
			fmt.Fprintf(&b, "    e.g. %s\n    path %s\n", c.Example, c.Path)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func first(list []string, n int) []string {
	if len(list) > n {
		return append(list[:n:n], "…")
	}
	return list
}
