// Package netdiff answers "what does this change break in the network":
// it computes the data plane of the twin before and after a change,
// compiles both into one header space, and reports every class of packets
// whose fate changes — delivered before and dropped after, caught in a new
// loop, or taking a path through different devices — from every device,
// each with an example packet and its path before and after. It also
// reports the control-plane findings (route limits, max-prefix teardowns,
// non-convergence) that the change introduces.
package netdiff

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/capacity"
	"github.com/preflight-sh/preflight/dataplane"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/hdr"
	"github.com/preflight-sh/preflight/routing"
	"github.com/preflight-sh/preflight/tracer"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
)

// networkKinds are the kinds whose changes can change the data plane.
var networkKinds = map[string]bool{"Zone": true, "Site": true, "Device": true, "Link": true, "RoutePolicy": true, "ACL": true, "AnycastPrefix": true}

// Touches reports whether a change touching these kinds can change the
// network.
func Touches(kinds []string) bool {
	for _, k := range kinds {
		if networkKinds[k] {
			return true
		}
	}
	return false
}

// Analyze compares the network of two snapshots. When the comparison is
// too large it returns the other findings with a *TooLarge error.
func Analyze(before, after *twin.Snapshot) ([]finding.Finding, error) {
	rb, ra := routing.BuildForwarding(before), routing.BuildForwarding(after)
	out := newRoutingFindings(rb.Findings, ra.Findings)
	space := hdr.NewSpace(dataplane.HasIPv6(rb.Network) || dataplane.HasIPv6(ra.Network))
	out = append(out, lostAnycast(after, space, rb, ra)...)
	mb, ma, err := dataplane.BuildPair(space, rb.Network, ra.Network, dataplane.Options{})
	if err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	gone, n := goneAddresses(space, rb.Network, ra.Network)
	fs, err := reachability(before, mb, ma, gone, n)
	if err != nil {
		return out, err
	}
	out = append(out, fs...)
	finding.Sort(out)
	return out, nil
}

// MaxPairs bounds the (class, device) outcomes one comparison may
// compute (each class that may have changed, from each device, before and
// after); beyond it the comparison is refused, and reported as unknown,
// rather than run. Outcomes are computed a class at a time from every
// device at once (dataplane.OutcomeWalker): run without this limit, the
// check of a 1,000-router twin that draws 7 million of them took 12 s and
// 4.8 GiB on a 2-core machine (31.5 s and 8.9 GB before the walker
// numbered the network once per model).
const MaxPairs = 2_000_000

// TooLarge is returned when a comparison would exceed MaxPairs. The other
// findings are still returned with it.
type TooLarge struct{ Classes, Devices int }

func (e *TooLarge) Error() string {
	return fmt.Sprintf("reachability comparison skipped: %d classes that may have changed × %d devices × 2 versions is %d outcomes, above the limit of %d; ask specific questions with preflight reach",
		e.Classes, e.Devices, 2*e.Classes*e.Devices, MaxPairs)
}

// goneAddresses returns the destinations delivered to a device before the
// change and to none after it — the addresses of the interfaces and
// devices the change takes down — and how many there are. Traffic to them
// is expected to stop and is left out of the comparison.
func goneAddresses(space *hdr.Space, before, after *fwd.Network) (bdd.Node, int) {
	delivered := func(n *fwd.Network) map[netip.Prefix]bool {
		out := map[netip.Prefix]bool{}
		for _, d := range n.Devices {
			for _, r := range d.Rules {
				if r.Action == fwd.Deliver {
					out[r.Prefix] = true
				}
			}
		}
		return out
	}
	b, a := delivered(before), delivered(after)
	M := space.M
	gone, count := M.False(), 0
	for p := range b {
		if a[p] {
			continue
		}
		if n, err := space.DstPrefix(p); err == nil {
			gone = M.Or(gone, n)
			count++
		}
	}
	return gone, count
}

// lostAnycast reports anycast prefixes that every announcing site stops
// announcing after the change (withdrawn, or its device down), when some
// site announced them before.
func lostAnycast(s *twin.Snapshot, space *hdr.Space, rb, ra *routing.Result) []finding.Finding {
	var out []finding.Finding
	for _, ap := range twin.Typed[twin.AnycastPrefix](s) {
		if announcing(ap, rb) == 0 || announcing(ap, ra) > 0 {
			continue
		}
		f := finding.Finding{
			ID:       "reachability.anycast-lost/" + ap.Name,
			Category: "reachability",
			Severity: finding.Critical,
			Message:  fmt.Sprintf("anycast prefix %s (%s) is announced from no site after the change: it becomes unreachable", ap.Name, ap.Prefix),
			Objects:  []finding.Object{finding.ObjectOf(ap, "announcements")},
		}
		for _, rf := range ra.Findings {
			if strings.HasPrefix(rf.ID, "routing.anycast-withdrawn/"+ap.Name+"/") {
				f.Evidence.Lines = append(f.Evidence.Lines, rf.Message)
			}
		}
		if p, err := space.DstPrefix(ap.Prefix); err == nil {
			if rps, names := affectedDemand(s, space, p); rps > 0 {
				f.Weight = rps
				f.Evidence.Lines = append(f.Evidence.Lines, fmt.Sprintf("carries client demand: %s (%s at peak)", strings.Join(names, ", "), units.Rate(rps).Short()))
			}
		}
		for _, a := range ap.Announcements {
			if a.Device != "" && ra.Network.Devices[a.Device] == nil {
				f.Evidence.Lines = append(f.Evidence.Lines, fmt.Sprintf("%s at %s is down", a.Device, a.Site))
			}
		}
		out = append(out, f)
	}
	return out
}

// announcing counts the announcements of an anycast prefix that are
// configured up, whose device is up, and that routing did not withdraw.
func announcing(ap *twin.AnycastPrefix, r *routing.Result) int {
	withdrawn := map[string]bool{}
	for _, f := range r.Findings {
		if rest, ok := strings.CutPrefix(f.ID, "routing.anycast-withdrawn/"+ap.Name+"/"); ok {
			withdrawn[rest] = true
		}
	}
	n := 0
	for _, a := range ap.Announcements {
		if !a.Announced() || a.Device == "" || r.Network.Devices[a.Device] == nil || withdrawn[a.Device] {
			continue
		}
		n++
	}
	return n
}

// newRoutingFindings keeps the control-plane findings of the new data plane
// that the old one did not have.
func newRoutingFindings(before, after []finding.Finding) []finding.Finding {
	old := map[string]bool{}
	for _, f := range before {
		old[f.ID] = true
	}
	var out []finding.Finding
	for _, f := range after {
		if old[f.ID] {
			f.Severity = finding.Warning
			f.Message += " (already so before this change)"
		}
		out = append(out, f)
	}
	return out
}

// outcome summarises how one class fares from one device: the fates of
// its branches, and the devices its delivered branches cross.
type outcome struct {
	fates     []string // sorted "fate@where" of every branch
	via       []string // sorted devices crossed by branches that arrive
	rep       dataplane.Branch
	path      tracer.Path // an example path ending as rep does, for reports
	ok        bool        // some branch is delivered or leaves the network
	delivered bool        // some branch is delivered to a device
	loop      bool
}

func outcomeOf(s dataplane.AtomSummary) outcome {
	return outcome{fates: s.Fates, via: s.Via, rep: s.Rep, ok: s.OK, delivered: s.Delivered, loop: s.Loop}
}

// examplePath walks a class from a device and returns a path that ends
// as the summary's representative branch does; failing that, the first
// dropped path, else the first.
func examplePath(m *dataplane.Model, atom int, from string, rep dataplane.Branch) tracer.Path {
	paths, _ := m.Walk(atom, from)
	for _, p := range paths {
		if rep.Matches(p) {
			return p
		}
	}
	var out tracer.Path
	for i, p := range paths {
		if i == 0 || (p.Fate.Dropped() && !out.Fate.Dropped()) {
			out = p
		}
	}
	return out
}

// group is one group of classes whose fate changes the same way.
type group struct {
	kind     string // dropped, loop, leaves, elsewhere, rerouted, restored
	where    string // for dropped and loop: where it now ends
	from     []string
	fromSet  map[string]bool
	set      bdd.Node
	last     int // the last class added to set
	classes  int
	examples []example
}

// example is one class of a change from one device.
type example struct {
	from          string
	atom          int
	set           bdd.Node
	before, after outcome
}

// maxExamples bounds the examples a finding lists.
const maxExamples = 4

// classify names how a class's fate changed, and where it now ends.
func classify(b, a outcome) (kind, where string) {
	switch {
	case b.ok && !a.ok:
		return "dropped", a.rep.Device + " (" + string(a.rep.Fate) + ")"
	case !b.loop && a.loop:
		return "loop", a.rep.Device
	case b.delivered && !a.delivered:
		return "leaves", a.rep.Device + " " + a.rep.Port
	case !b.ok && a.ok:
		return "restored", ""
	case !slices.Equal(b.fates, a.fates):
		return "elsewhere", ""
	}
	return "rerouted", ""
}

// diffed is one device from which a class fares differently, how, and
// (for the first maxExamples of each kind and place in its class, which
// hold every example a finding can list) the outcomes before and after.
type diffed struct {
	device        int
	kind, where   string
	before, after *outcome
}

// reachability compares every joint class (a class before intersected
// with a class after) from every device present in both models.
func reachability(s *twin.Snapshot, mb, ma *dataplane.Model, gone bdd.Node, nGone int) ([]finding.Finding, error) {
	M := mb.Space.M
	var devices []string
	for _, d := range mb.Devices {
		if ma.Net.Devices[d] != nil {
			devices = append(devices, d)
		}
	}
	// The two models share their classes: class i is class i in both.
	// Find the classes that may have changed; what they do from every
	// device is then computed in parallel (that needs no BDD operations).
	var changed []int
	joints := map[int]bdd.Node{}
	for i, a := range mb.Atoms {
		if dataplane.Unchanged(mb, ma, i) {
			continue
		}
		if joint := M.Diff(a, gone); !joint.IsFalse() {
			changed = append(changed, i)
			joints[i] = joint
		}
	}
	if 2*len(changed)*len(devices) > MaxPairs {
		return nil, &TooLarge{Classes: len(changed), Devices: len(devices)}
	}
	results := compareAll(mb, ma, changed, devices)
	groups := map[string]*group{}
	var order []string
	for n, i := range changed {
		joint := joints[i]
		for _, c := range results[n] {
			dev := devices[c.device]
			kind, where := c.kind, c.where
			k := kind + "|" + where
			g := groups[k]
			if g == nil {
				g = &group{kind: kind, where: where, fromSet: map[string]bool{}, set: M.False(), last: -1}
				groups[k] = g
				order = append(order, k)
			}
			if !g.fromSet[dev] {
				g.fromSet[dev] = true
				g.from = append(g.from, dev)
			}
			// A class differs from many devices: add it to the set once.
			if g.last != i {
				g.last = i
				g.set = M.Or(g.set, joint)
			}
			g.classes++
			if len(g.examples) < maxExamples {
				ob, oa := *c.before, *c.after
				ob.path = examplePath(mb, i, dev, ob.rep)
				oa.path = examplePath(ma, i, dev, oa.rep)
				g.examples = append(g.examples, example{from: dev, atom: i, set: joint, before: ob, after: oa})
			}
		}
	}
	sort.Strings(order)
	var out []finding.Finding
	for _, k := range order {
		f := changeFinding(s, mb.Space, groups[k])
		if nGone > 0 {
			f.Evidence.Lines = append(f.Evidence.Lines, fmt.Sprintf("left out: traffic to the %d address(es) the change takes down", nGone))
		}
		out = append(out, f)
	}
	return out, nil
}

// compareAll computes each class's outcomes from every device in both
// models, a class at a time on every core, and keeps the devices from
// which they differ: results[n] lists them for class atoms[n], in the
// order of devices.
func compareAll(mb, ma *dataplane.Model, atoms []int, devices []string) [][]diffed {
	index := func(m *dataplane.Model) []int {
		at := map[string]int{}
		for i, d := range m.Devices {
			at[d] = i
		}
		out := make([]int, len(devices))
		for d, dev := range devices {
			out[d] = at[dev]
		}
		return out
	}
	ib, ia := index(mb), index(ma)
	results := make([][]diffed, len(atoms))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wb, wa := mb.NewOutcomeWalker(), ma.NewOutcomeWalker()
			for n := range next {
				wb.Follow(atoms[n])
				wa.Follow(atoms[n])
				var row []diffed
				kept := map[string]int{}
				for d := range devices {
					if wb.Same(ib[d], wa, ia[d]) {
						continue
					}
					ob, oa := outcomeOf(wb.Summary(ib[d])), outcomeOf(wa.Summary(ia[d]))
					c := diffed{device: d}
					c.kind, c.where = classify(ob, oa)
					if k := c.kind + "|" + c.where; kept[k] < maxExamples {
						kept[k]++
						c.before, c.after = &ob, &oa
					}
					row = append(row, c)
				}
				results[n] = row
			}
		}()
	}
	for n := range atoms {
		next <- n
	}
	close(next)
	wg.Wait()
	return results
}

var kindText = map[string]struct {
	sev  finding.Severity
	text string
}{
	"dropped":   {finding.Critical, "was delivered and is now dropped at %s"},
	"loop":      {finding.Critical, "is now caught in a forwarding loop at %s"},
	"leaves":    {finding.Critical, "was delivered inside the network and now leaves it at %s"},
	"elsewhere": {finding.Warning, "now ends somewhere else%s"},
	"rerouted":  {finding.Info, "still arrives, through different devices%s"},
	"restored":  {finding.Info, "was dropped and is now delivered%s"},
}

func changeFinding(s *twin.Snapshot, space *hdr.Space, g *group) finding.Finding {
	kt := kindText[g.kind]
	sort.Strings(g.from)
	dsts, exact := space.DstPrefixes(g.set, 0)
	// IPv4 first: the IPv6 part of a set is often the unrouted rest of
	// the address space.
	sort.SliceStable(dsts, func(i, j int) bool { return dsts[i].Addr().Is4() && !dsts[j].Addr().Is4() })
	if len(dsts) > 6 {
		dsts, exact = dsts[:6], false
	}
	var ds []string
	for _, p := range dsts {
		ds = append(ds, p.String())
	}
	if !exact || len(ds) == 0 {
		ds = append(ds, "…")
	}
	f := finding.Finding{
		ID:       "reachability." + g.kind,
		Category: "reachability",
		Severity: kt.sev,
		Message:  fmt.Sprintf("traffic from %d device(s) to %s "+kt.text, len(g.from), strings.Join(ds, ", "), g.where),
		Evidence: finding.Evidence{
			Figures: []finding.Figure{{Name: "source devices", Value: float64(len(g.from)), Unit: "devices"}, {Name: "equivalence classes", Value: float64(g.classes), Unit: "classes"}},
		},
	}
	if g.where != "" {
		f.ID += "/" + strings.Fields(g.where)[0]
	}
	f.Evidence.Lines = append(f.Evidence.Lines, "from: "+strings.Join(first(g.from, 8), ", "))
	for _, ex := range g.examples {
		p, _ := space.Example(ex.set)
		f.Evidence.Lines = append(f.Evidence.Lines,
			fmt.Sprintf("e.g. %s from %s", p, ex.from),
			"  before: "+ex.before.path.String()+" — "+ex.before.path.Why,
			"  after:  "+ex.after.path.String()+" — "+ex.after.path.Why)
	}
	for _, d := range first(g.from, 6) {
		if o := s.Get("Device", d); o != nil {
			f.Objects = append(f.Objects, finding.ObjectOf(o, ""))
		}
	}
	if rps, names := affectedDemand(s, space, g.set); rps > 0 {
		f.Weight = rps
		f.Evidence.Figures = append(f.Evidence.Figures, finding.Figure{Name: "affected demand at peak", Value: rps, Unit: "rps"})
		f.Evidence.Lines = append(f.Evidence.Lines, fmt.Sprintf("carries client demand: %s (%s at peak)", strings.Join(names, ", "), units.Rate(rps).Short()))
	}
	return f
}

// affectedDemand sums the peak client demand the traffic set carries, and
// names the demands: demand whose DNS answers point at anycast prefixes the
// set reaches, and demand that load balancers send to instances in a zone
// whose data-centre prefixes the set reaches.
func affectedDemand(s *twin.Snapshot, space *hdr.Space, set bdd.Node) (float64, []string) {
	M := space.M
	hit := map[string]bool{}
	for _, ap := range twin.Typed[twin.AnycastPrefix](s) {
		p, err := space.DstPrefix(ap.Prefix)
		if err == nil && !M.And(p, set).IsFalse() {
			hit[ap.Name] = true
		}
	}
	zones := map[string]bool{} // zones whose data-centre prefixes the set reaches
	for _, d := range twin.Typed[twin.Device](s) {
		site := twin.Lookup[twin.Site](s, d.Site)
		if site == nil || site.Type != "datacenter" || site.Zone == "" || d.BGP == nil || zones[site.Zone] {
			continue
		}
		for _, pfx := range d.BGP.Originate {
			if p, err := space.DstPrefix(pfx); err == nil && !M.And(p, set).IsFalse() {
				zones[site.Zone] = true
				break
			}
		}
	}
	total := 0.0
	var names []string
	for _, d := range twin.Typed[twin.Demand](s) {
		rec := twin.Lookup[twin.DNSRecord](s, d.DNS)
		if rec == nil {
			continue
		}
		rps := 0.0
		for _, o := range d.Origins {
			peak := float64(o.Peak) * d.PeakFactor()
			for _, a := range capacity.Resolve(s, rec, o.Region) {
				switch {
				case a.Answer.Anycast != "" && hit[a.Answer.Anycast]:
					rps += peak * a.Share
				case a.Answer.LoadBalancer != "":
					rps += peak * a.Share * zoneShare(s, a.Answer.LoadBalancer, zones)
				}
			}
		}
		if rps > 0 {
			total += rps
			names = append(names, d.Name)
		}
	}
	return total, names
}

// zoneShare is the share of a load balancer's traffic that its targets
// serve from instances in the given zones.
func zoneShare(s *twin.Snapshot, lb string, zones map[string]bool) float64 {
	b := twin.Lookup[twin.LoadBalancer](s, lb)
	if b == nil || len(zones) == 0 {
		return 0
	}
	share := 0.0
	byService := s.InstancesOf()
	for _, t := range capacity.Targets(s, b) {
		if !t.Healthy || t.Capacity == 0 {
			continue
		}
		in := 0.0
		for _, i := range byService[t.Target.Service] {
			if zones[i.Zone] && (t.Target.Zone == "" || i.Zone == t.Target.Zone) && (t.Target.Region == "" || s.RegionOfZone(i.Zone) == t.Target.Region) {
				in += float64(s.ServingCapacity(i))
			}
		}
		share += t.Share * in / t.Capacity
	}
	return share
}

func first(l []string, n int) []string {
	if len(l) > n {
		return append(l[:n:n], fmt.Sprintf("and %d more", len(l)-n))
	}
	return l
}
