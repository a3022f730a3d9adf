package gen_test

import (
	"bytes"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/gen"
	"github.com/preflight-sh/preflight/twin"
)

var sizes = []struct {
	name string
	opts gen.Options
}{
	{"small", gen.Options{Regions: 1, ZonesPerRegion: 2, Services: 3, Instances: 6, Routers: 5}},
	{"one-service", gen.Options{Regions: 2, ZonesPerRegion: 2, Services: 1, Instances: 4, Routers: 10}},
	{"two-regions", gen.Options{Regions: 2, ZonesPerRegion: 2, Services: 7, Instances: 40, Routers: 40, Seed: 7}},
	{"default", gen.Options{}},
	{"large", gen.Options{Services: 500, Instances: 10000, Routers: 1000}},
}

func TestGeneratedTwinsLoad(t *testing.T) {
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			files, err := gen.Generate(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			snap, err := twin.LoadFiles(files)
			if err != nil {
				t.Fatalf("generated twin does not load:\n%v", err)
			}
			o := tc.opts
			want := map[string]int{
				"Region":   or(o.Regions, gen.DefaultRegions),
				"Zone":     or(o.Regions, gen.DefaultRegions) * or(o.ZonesPerRegion, gen.DefaultZonesPerRegion),
				"Device":   or(o.Routers, gen.DefaultRouters),
				"Service":  or(o.Services, gen.DefaultServices),
				"Instance": or(o.Instances, gen.DefaultInstances),
			}
			for kind, n := range want {
				if got := len(snap.List(kind)); got != n {
					t.Errorf("%d %s objects, want %d", got, kind, n)
				}
			}
			for name, b := range files {
				if len(b) > twin.MaxFileSize {
					t.Errorf("%s is %d bytes, over the loader's limit", name, len(b))
				}
			}
			checkNetwork(t, snap)
			checkServices(t, snap)
		})
	}
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// checkNetwork checks the addressing and BGP rules of the twin format and
// that the routers stay connected when any one of them fails.
func checkNetwork(t *testing.T, snap *twin.Snapshot) {
	t.Helper()
	devices := map[string]*twin.Device{}
	ifaces := map[string]twin.Interface{}
	owner := map[netip.Addr]string{}
	for _, d := range twin.Typed[twin.Device](snap) {
		devices[d.Name] = d
		for _, f := range d.Interfaces {
			ifaces[d.Name+":"+f.Name] = f
			for _, p := range f.Addresses {
				if prev, ok := owner[p.Addr()]; ok {
					t.Fatalf("address %s on %s:%s and %s", p.Addr(), d.Name, f.Name, prev)
				}
				owner[p.Addr()] = d.Name + ":" + f.Name
			}
		}
	}
	adj := map[string][]string{}
	used := map[string]bool{}
	for _, l := range twin.Typed[twin.Link](snap) {
		a, b := ifaces[l.A], ifaces[l.B]
		if len(a.Addresses) != 2 || len(b.Addresses) != 2 || used[l.A] || used[l.B] {
			t.Fatalf("link %s: ends %s and %s missing, without two addresses, or used twice", l.Name, l.A, l.B)
		}
		used[l.A], used[l.B] = true, true
		for i, bits := range []int{31, 127} {
			pa, pb := a.Addresses[i], b.Addresses[i]
			if pa.Bits() != bits || pb.Bits() != bits || pa.Masked() != pb.Masked() || pa.Addr() == pb.Addr() {
				t.Fatalf("link %s: %s and %s are not the two ends of one /%d", l.Name, pa, pb, bits)
			}
		}
		da, _, _ := strings.Cut(l.A, ":")
		db, _, _ := strings.Cut(l.B, ":")
		adj[da] = append(adj[da], db)
		adj[db] = append(adj[db], da)
	}
	for _, d := range devices {
		for _, n := range d.BGP.Neighbors {
			p := devices[n.Peer]
			if p == nil || n.RemoteASN != p.BGP.ASN || !strings.HasPrefix(owner[n.Address], p.Name+":") {
				t.Fatalf("%s: neighbor %s does not match its peer", d.Name, n.Name)
			}
			if !slices.ContainsFunc(p.BGP.Neighbors, func(b twin.BGPNeighbor) bool { return b.Peer == d.Name }) {
				t.Fatalf("session %s to %s is written on one end only", d.Name, p.Name)
			}
		}
	}
	names := slices.Sorted(maps.Keys(devices))
	for _, down := range append([]string{""}, names...) {
		start := names[0]
		if start == down {
			start = names[1]
		}
		seen := map[string]bool{start: true}
		if down != "" {
			seen[down] = true
		}
		queue := []string{start}
		for len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			for _, n := range adj[d] {
				if !seen[n] {
					seen[n] = true
					queue = append(queue, n)
				}
			}
		}
		if len(seen) != len(devices) {
			t.Fatalf("with %q down, only %d of %d routers are reachable", down, len(seen), len(devices))
		}
	}
}

// checkServices checks the service rules of the twin format and that every
// service keeps the capacity for its peak load, within its headroom, with
// any one zone lost: demand reaches the load balancer of its own region
// through the latency-routed DNS name and flows down the dependencies.
func checkServices(t *testing.T, snap *twin.Snapshot) {
	t.Helper()
	load := map[string]map[string]float64{} // service → region → rps
	add := func(svc, region string, rps float64) {
		if load[svc] == nil {
			load[svc] = map[string]float64{}
		}
		load[svc][region] += rps
	}
	for _, d := range twin.Typed[twin.Demand](snap) {
		if len(d.Profile) != 24 || slices.Min(d.Profile) < 0 || slices.Max(d.Profile) != 1 {
			t.Fatalf("demand %s: profile %v", d.Name, d.Profile)
		}
		rec := twin.Lookup[twin.DNSRecord](snap, d.DNS)
		for _, o := range d.Origins {
			i := slices.IndexFunc(rec.Answers, func(a twin.DNSAnswer) bool { return a.Region == o.Region })
			lb := twin.Lookup[twin.LoadBalancer](snap, rec.Answers[i].LoadBalancer)
			add(lb.Targets[0].Service, lb.Targets[0].Region, float64(o.Peak)*d.PeakFactor())
		}
	}
	services := twin.Typed[twin.Service](snap)
	callers := map[string]int{}
	for _, s := range services {
		for _, d := range s.Dependencies {
			callers[d.Service]++
		}
	}
	var order []*twin.Service // callers before callees
	for len(order) < len(services) {
		n := len(order)
		for _, s := range services {
			if callers[s.Name] == 0 {
				callers[s.Name] = -1
				order = append(order, s)
				for _, d := range s.Dependencies {
					callers[d.Service]--
				}
			}
		}
		if len(order) == n {
			t.Fatal("the service dependencies have a cycle")
		}
	}
	for _, s := range order {
		for _, d := range s.Dependencies {
			for region, rps := range load[s.Name] {
				add(d.Service, region, rps*d.Calls())
			}
		}
	}

	regionOf := map[string]string{}
	for _, z := range twin.Typed[twin.Zone](snap) {
		regionOf[z.Name] = z.Region
	}
	capacity := map[string]map[string]float64{} // service → zone → rps
	for _, i := range twin.Typed[twin.Instance](snap) {
		if capacity[i.Service] == nil {
			capacity[i.Service] = map[string]float64{}
		}
		capacity[i.Service][i.Zone] += float64(twin.Lookup[twin.Service](snap, i.Service).InstanceCapacity)
	}
	for _, s := range services {
		f := s.Floors
		if s.InstanceCapacity <= 0 || f.PerZone.Instances > f.PerRegion.Instances || f.PerRegion.Instances > f.Total.Instances {
			t.Fatalf("service %s: capacity %v, floors %+v", s.Name, s.InstanceCapacity, f)
		}
		if len(load[s.Name]) == 0 {
			t.Fatalf("service %s has no load", s.Name)
		}
		for lost := range regionOf {
			for region, rps := range load[s.Name] {
				left := 0.0
				for zone, c := range capacity[s.Name] {
					if regionOf[zone] == region && zone != lost {
						left += c
					}
				}
				if usable := left * (1 - float64(s.Headroom)); usable < rps {
					t.Fatalf("service %s in %s with %s lost: %.0frps usable for %.0frps", s.Name, region, lost, usable, rps)
				}
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	o := gen.Options{Services: 40, Instances: 400, Routers: 50, Seed: 42}
	a, err := gen.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := gen.Generate(o)
	if !maps.EqualFunc(a, b, bytes.Equal) {
		t.Fatal("two runs with the same options differ")
	}
	o.Seed++
	c, _ := gen.Generate(o)
	if maps.EqualFunc(a, c, bytes.Equal) {
		t.Fatal("runs with different seeds are identical")
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		opts gen.Options
		want string
	}{
		{gen.Options{Regions: -1}, "Regions is -1: it must not be negative"},
		{gen.Options{Instances: -5, Routers: -1}, "Routers is -1"},
		{gen.Options{ZonesPerRegion: 1}, "ZonesPerRegion is 1: give at least 2"},
		{gen.Options{Routers: 17}, "Routers is 17: 3 regions of 3 zones need at least 18"},
		{gen.Options{Services: 200}, "Instances is 1000: 200 services in 9 zones need at least 1800"},
		{gen.Options{Routers: 70000}, "at most 65000"},
		{gen.Options{Instances: 600_000}, "at most 500000"},
		{gen.Options{Regions: 2000, ZonesPerRegion: 10}, "the address plan holds at most 16384"},
	} {
		_, err := gen.Generate(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Generate(%+v) = %v, want an error containing %q", tc.opts, err, tc.want)
		}
	}
}

func TestWrite(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "twins", "small")
	o := sizes[0].opts
	if err := gen.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	if _, err := twin.Load(dir); err != nil {
		t.Fatalf("written twin does not load:\n%v", err)
	}
	files, _ := gen.Generate(o)
	for name, want := range files {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: not written as generated (%v)", name, err)
		}
	}

	o.Seed = 9
	if err := gen.Write(dir, o); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("Write into a non-empty directory: %v", err)
	}
	for name, want := range files {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); !bytes.Equal(got, want) {
			t.Errorf("%s changed by a refused write", name)
		}
	}

	empty := filepath.Join(parent, "twins", "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := gen.Write(empty, o); err != nil {
		t.Fatalf("Write into an empty directory: %v", err)
	}

	bad := filepath.Join(parent, "twins", "bad")
	if err := gen.Write(bad, gen.Options{ZonesPerRegion: 1}); err == nil {
		t.Fatal("Write with bad options succeeded")
	}
	entries, _ := os.ReadDir(filepath.Join(parent, "twins"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"empty", "small"}; !slices.Equal(names, want) {
		t.Errorf("twins/ holds %v, want %v (no partial output)", names, want)
	}
}

func BenchmarkGenerateLarge(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gen.Generate(sizes[len(sizes)-1].opts); err != nil {
			b.Fatal(err)
		}
	}
}
