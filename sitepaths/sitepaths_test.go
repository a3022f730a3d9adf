package sitepaths

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/gen"
	"github.com/preflight-sh/preflight/tracer"
	"github.com/preflight-sh/preflight/twin"
)

func shop(tb testing.TB) *twin.Snapshot {
	tb.Helper()
	s, err := twin.Load("../examples/shop")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func compute(tb testing.TB, s *twin.Snapshot) *Paths {
	tb.Helper()
	p, err := Compute(s)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// siteNames returns the names of a snapshot's sites.
func siteNames(s *twin.Snapshot) []string {
	var out []string
	for _, st := range twin.Typed[twin.Site](s) {
		out = append(out, st.Name)
	}
	return out
}

// shareMap turns shares into a map, for comparisons.
func shareMap(shares []Share) map[string]float64 {
	m := map[string]float64{}
	for _, s := range shares {
		m[s.Name] = s.Fraction
	}
	return m
}

const eps = 1e-9

// wantShares checks shares against the expected fractions, exactly the
// names given.
func wantShares(t *testing.T, what string, got []Share, want map[string]float64) {
	t.Helper()
	g := shareMap(got)
	if len(g) != len(want) {
		t.Errorf("%s: %v, want %v", what, got, want)
		return
	}
	for name, f := range want {
		if math.Abs(g[name]-f) > eps {
			t.Errorf("%s: %v, want %v", what, got, want)
			return
		}
	}
}

func TestShopCrossRegion(t *testing.T) {
	s := shop(t)
	p := compute(t, s)
	r := p.Between("iad-dc1", "sin-dc1")
	if !r.Modelled || math.Abs(r.Delivered-1) > eps {
		t.Fatalf("iad-dc1 → sin-dc1: modelled %v, delivered %v", r.Modelled, r.Delivered)
	}
	longHaul := 0.0
	for _, l := range r.Links {
		link := twin.Lookup[twin.Link](s, l.Name)
		if link == nil {
			t.Fatalf("link %q is no twin link", l.Name)
		}
		if link.Labels["type"] == "long-haul" {
			longHaul += l.Fraction
		}
	}
	if math.Abs(longHaul-1) > eps {
		t.Errorf("backbone (long-haul) links carry %v of the traffic, want all of it once: %v", longHaul, r.Links)
	}
	devs := shareMap(r.Devices)
	if devs["spine.iad-dc1"] != 1 || devs["spine.sin-dc1"] != 1 || devs["bb1.iad"]+devs["bb2.iad"] != 1 {
		t.Errorf("devices %v: want both spines with all the traffic, the iad backbone routers with half each", r.Devices)
	}
	if n := len(r.Example); n < 3 || r.Example[0] != "spine.iad-dc1" || r.Example[n-1] != "spine.sin-dc1" {
		t.Errorf("example %v: want a path from spine.iad-dc1 to spine.sin-dc1", r.Example)
	}
}

func TestShopAddresses(t *testing.T) {
	p := compute(t, shop(t))
	for _, c := range []struct {
		site, aim, src6 string
		hosts           []string
	}{
		// A data centre aims at its server prefix; its backbone router
		// originates nothing and sends none of its traffic.
		{"iad-dc1", "10.20.0.1", "2001:db8:1020::1", []string{"spine.iad-dc1"}},
		// A PoP originates only the default route, which other PoPs
		// originate too: it aims at its router's loopback.
		{"iad-pop", "10.0.0.11", "2001:db8:0:1::11", []string{"edge1.iad"}},
	} {
		si := p.sites[c.site]
		if si.aim.String() != c.aim || si.addrs[1].String() != c.src6 || !reflect.DeepEqual(si.hosts, c.hosts) {
			t.Errorf("%s: aim %s, IPv6 source %s, hosts %v; want %s, %s, %v", c.site, si.aim, si.addrs[1], si.hosts, c.aim, c.src6, c.hosts)
		}
	}
}

// square is a twin of four routers a, b, c, d (each in its own site sa …
// sd) joined in a square a–b–d–c–a of equal IGP costs, and two more sites:
// one without devices and one whose only device has no address.
func square() *testTwin {
	return &testTwin{
		devs:  [][2]string{{"a", "sa"}, {"b", "sb"}, {"c", "sc"}, {"d", "sd"}},
		links: [][2]string{{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "d"}},
		docs: []string{
			"kind: Site\nname: empty\ntype: datacenter\nregion: r\nzone: z",
			"kind: Site\nname: bare\ntype: datacenter\nregion: r\nzone: z",
			"kind: Device\nname: x\nsite: bare",
		},
	}
}

// testTwin writes a small twin: device i has the loopback 10.0.0.i+1/32,
// link k the subnet 10.1.k.0/31 (its a end the lower address), with IGP
// cost 10. Interfaces are named after the device at the other end.
type testTwin struct {
	devs  [][2]string // name, site
	links [][2]string
	extra map[string]string // more YAML fields of a device
	docs  []string
}

func (tt *testTwin) load(tb testing.TB) *twin.Snapshot {
	tb.Helper()
	var b strings.Builder
	b.WriteString("kind: Region\nname: r\n---\nkind: Zone\nname: z\nregion: r\n")
	sites := map[string]bool{}
	for _, d := range tt.devs {
		if !sites[d[1]] {
			sites[d[1]] = true
			fmt.Fprintf(&b, "---\nkind: Site\nname: %s\ntype: datacenter\nregion: r\nzone: z\n", d[1])
		}
	}
	for i, d := range tt.devs {
		fmt.Fprintf(&b, "---\nkind: Device\nname: %s\nsite: %s\ninterfaces:\n  - {name: lo0, addresses: [10.0.0.%d/32]}\n", d[0], d[1], i+1)
		for k, l := range tt.links {
			for end, peer := range []string{l[1], l[0]} {
				if l[end] == d[0] {
					fmt.Fprintf(&b, "  - {name: %s, addresses: [10.1.%d.%d/31]}\n", peer, k, end)
				}
			}
		}
		b.WriteString(tt.extra[d[0]])
	}
	for _, l := range tt.links {
		fmt.Fprintf(&b, "---\nkind: Link\nname: %s--%s\na: %s:%s\nb: %s:%s\ncapacity: 100Gbps\ncost: 10\n", l[0], l[1], l[0], l[1], l[1], l[0])
	}
	for _, d := range tt.docs {
		b.WriteString("---\n" + d + "\n")
	}
	s, err := twin.LoadFiles(map[string][]byte{"twin.yaml": []byte(b.String())})
	if err != nil {
		tb.Fatalf("test twin does not load: %v\n%s", err, b.String())
	}
	return s
}

// down takes objects down the way an operator does, with the command
// "shutdown KIND NAME" for each target ("link a--b", "site sd").
func down(tb testing.TB, s *twin.Snapshot, targets ...string) *twin.Snapshot {
	tb.Helper()
	for _, target := range targets {
		ops, err := change.Compile("shutdown " + target)
		if err != nil {
			tb.Fatal(err)
		}
		res, err := change.Apply(s, &change.ChangeSet{Operations: ops})
		if err != nil {
			tb.Fatal(err)
		}
		s = res.After
	}
	return s
}

func TestECMPSplitsEqually(t *testing.T) {
	p := compute(t, square().load(t))
	r := p.Between("sa", "sd")
	if !r.Modelled || r.Delivered != 1 {
		t.Fatalf("modelled %v, delivered %v", r.Modelled, r.Delivered)
	}
	wantShares(t, "links", r.Links, map[string]float64{"a--b": 0.5, "a--c": 0.5, "b--d": 0.5, "c--d": 0.5})
	wantShares(t, "devices", r.Devices, map[string]float64{"a": 1, "b": 0.5, "c": 0.5, "d": 1})
	if want := []string{"a", "b", "d"}; !reflect.DeepEqual(r.Example, want) {
		t.Errorf("example %v, want %v", r.Example, want)
	}
}

func TestDownObjectsCarryNothing(t *testing.T) {
	s := square().load(t)
	t.Run("link", func(t *testing.T) {
		r := compute(t, down(t, s, "link a--b")).Between("sa", "sd")
		if r.Delivered != 1 {
			t.Errorf("delivered %v, want 1", r.Delivered)
		}
		wantShares(t, "links", r.Links, map[string]float64{"a--c": 1, "c--d": 1})
		wantShares(t, "devices", r.Devices, map[string]float64{"a": 1, "c": 1, "d": 1})
	})
	t.Run("device", func(t *testing.T) {
		r := compute(t, down(t, s, "device c")).Between("sa", "sd")
		wantShares(t, "links", r.Links, map[string]float64{"a--b": 1, "b--d": 1})
	})
	t.Run("destination site", func(t *testing.T) {
		r := compute(t, down(t, s, "site sd")).Between("sa", "sd")
		if !r.Modelled || r.Delivered != 0 || len(r.Links) != 0 || !reflect.DeepEqual(r.Example, []string{"a"}) {
			t.Errorf("%+v: want modelled, nothing delivered, no link crossed, dropped at a", r)
		}
	})
	t.Run("source site", func(t *testing.T) {
		r := compute(t, down(t, s, "site sa")).Between("sa", "sd")
		if !r.Modelled || r.Delivered != 0 || len(r.Links) != 0 || len(r.Devices) != 0 {
			t.Errorf("%+v: want modelled and nothing sent", r)
		}
	})
	t.Run("shop", func(t *testing.T) {
		s := shop(t)
		link, dev := "bb1.sin--bb1.iad", "bb2.dub"
		used := func(p *Paths) (bool, bool) {
			var l, d bool
			for _, src := range siteNames(s) {
				for _, dst := range siteNames(s) {
					r := p.Between(src, dst)
					l = l || shareMap(r.Links)[link] > 0
					d = d || shareMap(r.Devices)[dev] > 0
				}
			}
			return l, d
		}
		if l, d := used(compute(t, s)); !l || !d {
			t.Fatalf("before: %s used %v, %s used %v; want both used", link, l, dev, d)
		}
		after := compute(t, down(t, s, "link "+link, "device "+dev))
		if l, d := used(after); l || d {
			t.Errorf("down: %s used %v, %s used %v; want neither", link, l, dev, d)
		}
		if r := after.Between("iad-dc1", "sin-dc1"); math.Abs(r.Delivered-1) > eps {
			t.Errorf("iad-dc1 → sin-dc1 delivered %v with %s down, want 1", r.Delivered, link)
		}
	})
}

func TestUnmodelled(t *testing.T) {
	p := compute(t, square().load(t))
	for _, pair := range [][2]string{{"sa", "empty"}, {"empty", "sa"}, {"sa", "nowhere"}, {"nowhere", "sa"}, {"sa", "bare"}} {
		if r := p.Between(pair[0], pair[1]); !reflect.DeepEqual(r, Route{}) {
			t.Errorf("%s → %s: %+v, want unmodelled", pair[0], pair[1], r)
		}
	}
	// A site with a device but no address can still send (from the
	// unspecified address); x has no link, so nothing gets out.
	if r := p.Between("bare", "sa"); !r.Modelled || r.Delivered != 0 || !reflect.DeepEqual(r.Example, []string{"x"}) {
		t.Errorf("bare → sa: %+v, want modelled, dropped at x", r)
	}

	empty, err := twin.LoadFiles(map[string][]byte{"t.yaml": []byte("kind: Region\nname: r\n---\nkind: Site\nname: s\ntype: pop\nregion: r\n---\nkind: Site\nname: t\ntype: pop\nregion: r\n")})
	if err != nil {
		t.Fatal(err)
	}
	if r := compute(t, empty).Between("s", "t"); r.Modelled {
		t.Errorf("twin without devices: %+v, want unmodelled", r)
	}
}

func TestSameSite(t *testing.T) {
	p := compute(t, shop(t))
	want := Route{Modelled: true, Delivered: 1, Devices: []Share{{"spine.iad-dc1", 1}}}
	if r := p.Between("iad-dc1", "iad-dc1"); !reflect.DeepEqual(r, want) {
		t.Errorf("%+v, want %+v", r, want)
	}
	if r := compute(t, square().load(t)).Between("empty", "empty"); !reflect.DeepEqual(r, Route{Modelled: true, Delivered: 1}) {
		t.Errorf("site without devices: %+v, want modelled and delivered", r)
	}
}

// TestLoop routes d's loopback around the triangle a → b → c → a with
// static routes; a also sends it straight to d (ECMP). The tracer ends the
// path that comes back to a where it would leave for b again: half of the
// traffic goes to d at once, a quarter after the round, a quarter loops.
func TestLoop(t *testing.T) {
	tt := &testTwin{
		devs:  [][2]string{{"a", "sa"}, {"b", "sb"}, {"c", "sc"}, {"d", "sd"}},
		links: [][2]string{{"a", "b"}, {"b", "c"}, {"c", "a"}, {"a", "d"}},
		extra: map[string]string{
			"a": "staticRoutes:\n  - {prefix: 10.0.0.4/32, nextHop: 10.1.0.1}\n  - {prefix: 10.0.0.4/32, nextHop: 10.1.3.1}\n",
			"b": "staticRoutes:\n  - {prefix: 10.0.0.4/32, nextHop: 10.1.1.1}\n",
			"c": "staticRoutes:\n  - {prefix: 10.0.0.4/32, nextHop: 10.1.2.1}\n",
		},
	}
	p := compute(t, tt.load(t))
	r := p.Between("sa", "sd")
	if math.Abs(r.Delivered-0.75) > eps {
		t.Errorf("delivered %v, want 0.75", r.Delivered)
	}
	wantShares(t, "links", r.Links, map[string]float64{"a--b": 0.5, "b--c": 0.5, "c--a": 0.5, "a--d": 0.75})
	wantShares(t, "devices", r.Devices, map[string]float64{"a": 1, "b": 0.5, "c": 0.5, "d": 0.75})
	if want := []string{"a", "b", "c", "a", "d"}; !reflect.DeepEqual(r.Example, want) {
		t.Errorf("example %v, want %v", r.Example, want)
	}
	w := p.newWalk(fwd.Packet{Dst: p.sites["sd"].aim}, "sd")
	w.visit(state{dev: "a"})
	if !w.cyclic {
		t.Error("the walk has no cycle: the tracer's paths were not used")
	}
}

// TestPropagateMatchesTracer checks that summing shares over the states of
// an acyclic walk gives what following every path of the tracer gives, for
// every pair of sites of the shop and of a generated twin.
func TestPropagateMatchesTracer(t *testing.T) {
	files, err := gen.Generate(gen.Options{Routers: 60, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	generated, err := twin.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*twin.Snapshot{shop(t), generated} {
		p := compute(t, s)
		for _, src := range siteNames(s) {
			for _, dst := range siteNames(s) {
				from, to := p.sites[src], p.sites[dst]
				if src == dst || !to.aim.IsValid() {
					continue
				}
				w := p.newWalk(fwd.Packet{Src: from.addrs[family(to.aim)], Dst: to.aim, Proto: 6, SrcPort: 49152, DstPort: 443}, dst)
				var starts []int
				var up []string
				for _, h := range from.hosts {
					if p.net.Devices[h] != nil {
						up = append(up, h)
						starts = append(starts, w.visit(state{dev: h}))
					}
				}
				if w.cyclic {
					t.Fatalf("%s → %s: cycle", src, dst)
				}
				share := 1 / float64(len(from.hosts))
				a, b := w.propagate(starts, share).route(), w.traced(up, share).route()
				if math.Abs(a.Delivered-b.Delivered) > eps || !reflect.DeepEqual(a.Example, b.Example) {
					t.Fatalf("%s → %s: propagated %+v, traced %+v", src, dst, a, b)
				}
				for _, c := range []struct {
					what string
					x, y []Share
				}{{"links", a.Links, b.Links}, {"devices", a.Devices, b.Devices}} {
					if len(c.x) != len(c.y) {
						t.Fatalf("%s → %s: %s propagated %v, traced %v", src, dst, c.what, c.x, c.y)
					}
					for i := range c.x {
						if c.x[i].Name != c.y[i].Name || math.Abs(c.x[i].Fraction-c.y[i].Fraction) > eps {
							t.Fatalf("%s → %s: %s propagated %v, traced %v", src, dst, c.what, c.x, c.y)
						}
					}
				}
			}
		}
	}
}

// TestLookup checks the bisecting lookup against the tracer's scan, on the
// shop's tables and on a table that is not sorted.
func TestLookup(t *testing.T) {
	p := compute(t, shop(t))
	var addrs []netip.Addr
	for _, d := range p.net.Devices {
		for _, r := range d.Rules {
			a := r.Prefix.Addr()
			addrs = append(addrs, a, a.Next(), a.Prev())
		}
	}
	for name, d := range p.net.Devices {
		if p.tables[name].runs == nil {
			t.Fatalf("%s: rules not sorted", name)
		}
		for _, a := range addrs {
			if got, want := p.tables[name].lookup(a), tracer.Lookup(d, a); got != want {
				t.Fatalf("%s, %s: %+v, want %+v", name, a, got, want)
			}
		}
	}

	pfx := netip.MustParsePrefix
	d := &fwd.Device{Name: "u", Rules: []fwd.Rule{
		{Prefix: pfx("10.0.0.0/8"), Priority: 8, Action: fwd.Drop},
		{Prefix: pfx("0.0.0.0/0"), Priority: 0, Action: fwd.Deliver},
		{Prefix: pfx("10.1.0.0/16"), Priority: 16, Action: fwd.Deliver},
		{Prefix: pfx("10.1.0.0/16"), Priority: 16, Seq: 1, Action: fwd.Drop},
	}}
	tb := newTable(d)
	if tb.runs != nil {
		t.Fatal("unsorted rules indexed as sorted")
	}
	for _, a := range []string{"10.1.2.3", "10.2.0.0", "192.0.2.1", "2001:db8::1"} {
		if got, want := tb.lookup(netip.MustParseAddr(a)), tracer.Lookup(d, netip.MustParseAddr(a)); got != want {
			t.Errorf("%s: %+v, want %+v", a, got, want)
		}
	}
}

func TestDeterministicAndConcurrent(t *testing.T) {
	s := shop(t)
	sites := siteNames(s)
	want := map[[2]string]Route{}
	p := compute(t, s)
	for _, src := range sites {
		for _, dst := range sites {
			want[[2]string{src, dst}] = p.Between(src, dst)
		}
	}
	q := compute(t, s)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, src := range sites {
				for _, dst := range sites {
					if r := q.Between(src, dst); !reflect.DeepEqual(r, want[[2]string{src, dst}]) {
						t.Errorf("%s → %s: %+v, then %+v", src, dst, want[[2]string{src, dst}], r)
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestGeneratedTwinDeliversEverywhere: gen's backbone reflects every
// data-centre prefix, so traffic between any two sites arrives.
func TestGeneratedTwinDeliversEverywhere(t *testing.T) {
	files, err := gen.Generate(gen.Options{Regions: 3, ZonesPerRegion: 2, Services: 6, Instances: 60, Routers: 40})
	if err != nil {
		t.Fatal(err)
	}
	s, err := twin.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	p := compute(t, s)
	sites := siteNames(s)
	for _, src := range sites {
		for _, dst := range sites {
			if r := p.Between(src, dst); !r.Modelled || math.Abs(r.Delivered-1) > 1e-9 {
				t.Errorf("%s → %s: %+v", src, dst, r)
			}
		}
	}
}

// BenchmarkGen1000 computes the forwarding model of the large generated
// twin (1,000 routers, 12 sites) and the paths of every pair of its sites.
func BenchmarkGen1000(b *testing.B) {
	files, err := gen.Generate(gen.Options{Services: 500, Instances: 10000, Routers: 1000})
	if err != nil {
		b.Fatal(err)
	}
	s, err := twin.LoadFiles(files)
	if err != nil {
		b.Fatal(err)
	}
	sites := siteNames(s)
	b.ReportAllocs()
	var delivered float64
	for b.Loop() {
		p := compute(b, s)
		delivered = 0
		for _, src := range sites {
			for _, dst := range sites {
				r := p.Between(src, dst)
				if !r.Modelled {
					b.Fatalf("%s → %s: unmodelled", src, dst)
				}
				delivered += r.Delivered
			}
		}
	}
	b.ReportMetric(delivered/float64(len(sites)*len(sites)), "delivered/pair")
}
