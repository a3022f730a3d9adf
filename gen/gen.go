// Package gen generates synthetic twins for scale tests: regions of zones, a
// routed backbone with IGP costs and iBGP route reflection, an anycast
// prefix announced from every point of presence, a layered graph of services
// with instances in every zone, regional load balancers, latency-routed DNS
// names, client demand with a daily profile and a blast-radius guardrail.
//
// The output is deterministic (the same Options give byte-identical files),
// loads without errors, and is healthy: every service has the capacity for
// its peak load, at most 60% utilised, with any one zone lost.
package gen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Options sizes a generated twin. A zero field takes its default.
type Options struct {
	// Regions is the number of regions (default 3).
	Regions int
	// ZonesPerRegion is the number of availability zones in each region; at
	// least 2, so that a service survives the loss of a zone (default 3).
	ZonesPerRegion int
	// Services is the number of services (default 50).
	Services int
	// Instances is the total number of service instances, spread evenly
	// over the services and then over every zone; at least one instance of
	// every service in every zone (default 1000).
	Instances int
	// Routers is the number of routers; each region needs at least two
	// backbone routers, one edge router and one data-centre router per zone
	// (default 60).
	Routers int
	// Seed seeds the random choices (IGP costs, dependencies, demand). The
	// zero seed is used as given.
	Seed int64
}

// Defaults of Options.
const (
	DefaultRegions        = 3
	DefaultZonesPerRegion = 3
	DefaultServices       = 50
	DefaultInstances      = 1000
	DefaultRouters        = 60
)

// Limits of the address plan and of the loader.
const (
	maxRouters   = 65000   // loopbacks are host addresses of 10.255.0.0/16
	maxZones     = 16384   // zone prefixes are /24s of 10.64.0.0/10
	maxInstances = 500_000 // keeps instances.yaml well under the loader's 64 MiB limit
)

const (
	asn         = 65000 // every router is in one AS
	maxLayers   = 4     // depth of the service dependency graph
	utilization = 0.6   // the busiest a service runs at peak with a zone lost
)

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Regions, DefaultRegions)
	def(&o.ZonesPerRegion, DefaultZonesPerRegion)
	def(&o.Services, DefaultServices)
	def(&o.Instances, DefaultInstances)
	def(&o.Routers, DefaultRouters)
	return o
}

// check reports every problem with the options (after defaults).
func (o Options) check() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"Regions", o.Regions}, {"ZonesPerRegion", o.ZonesPerRegion}, {"Services", o.Services}, {"Instances", o.Instances}, {"Routers", o.Routers}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s is %d: it must not be negative (0 takes the default)", f.name, f.v))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("gen: invalid options: %w", errors.Join(errs...))
	}
	zones := o.Regions * o.ZonesPerRegion
	if o.ZonesPerRegion < 2 {
		errs = append(errs, fmt.Errorf("ZonesPerRegion is %d: give at least 2 so that every service survives the loss of a zone", o.ZonesPerRegion))
	}
	if zones > maxZones {
		errs = append(errs, fmt.Errorf("%d regions of %d zones make %d zones: the address plan holds at most %d", o.Regions, o.ZonesPerRegion, zones, maxZones))
	}
	if minRouters := o.Regions * (o.ZonesPerRegion + 3); o.Routers < minRouters {
		errs = append(errs, fmt.Errorf("Routers is %d: %d regions of %d zones need at least %d (two backbone routers, one edge router and one data-centre router per zone in each region)", o.Routers, o.Regions, o.ZonesPerRegion, minRouters))
	}
	if o.Routers > maxRouters {
		errs = append(errs, fmt.Errorf("Routers is %d: the loopback plan (10.255.0.0/16) holds at most %d", o.Routers, maxRouters))
	}
	if minInstances := o.Services * zones; o.Instances < minInstances {
		errs = append(errs, fmt.Errorf("Instances is %d: %d services in %d zones need at least %d (one instance of every service in every zone)", o.Instances, o.Services, zones, minInstances))
	}
	if o.Instances > maxInstances {
		errs = append(errs, fmt.Errorf("Instances is %d: at most %d fit in one instances file", o.Instances, maxInstances))
	}
	if len(errs) > 0 {
		return fmt.Errorf("gen: invalid options: %w", errors.Join(errs...))
	}
	return nil
}

// Generate returns the files of a synthetic twin by name: places.yaml,
// network.yaml, links.yaml, services.yaml, instances.yaml, traffic.yaml and
// guardrails.yaml.
func Generate(o Options) (map[string][]byte, error) {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	g := &generator{o: o, rng: rand.New(rand.NewPCG(uint64(o.Seed), 0x7072656669676874))}
	g.buildPlaces()
	g.buildNetwork()
	g.buildServices()
	header := fmt.Sprintf("# Synthetic twin generated by github.com/preflight-sh/preflight/gen (regions %d, zones per region %d, services %d, instances %d, routers %d, seed %d).\n",
		o.Regions, o.ZonesPerRegion, o.Services, o.Instances, o.Routers, o.Seed)
	files := map[string][]byte{}
	for _, f := range []struct {
		name  string
		write func(*strings.Builder)
	}{
		{"places.yaml", g.writePlaces},
		{"network.yaml", g.writeNetwork},
		{"links.yaml", g.writeLinks},
		{"services.yaml", g.writeServices},
		{"instances.yaml", g.writeInstances},
		{"traffic.yaml", g.writeTraffic},
		{"guardrails.yaml", g.writeGuardrails},
	} {
		var b strings.Builder
		b.WriteString(header)
		f.write(&b)
		files[f.name] = []byte(b.String())
	}
	return files, nil
}

// Write generates a twin into dir, which must not exist or be empty. The
// files are written to a temporary directory next to dir and renamed into
// place, so a failure leaves no partial twin.
func Write(dir string, o Options) error {
	files, err := Generate(o)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	exists := err == nil
	switch {
	case exists && len(entries) > 0:
		return fmt.Errorf("gen: %s is not empty: give a new or empty directory", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("gen: cannot write the twin to %s: %w", dir, err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".gen-*")
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing left to remove once renamed
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(tmp, name), files[name], 0o644); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if exists { // an empty directory: make way for the rename
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	return nil
}

type generator struct {
	o        Options
	rng      *rand.Rand
	regions  []*region
	devices  []*device
	links    []link
	services []*service
}

type region struct {
	name       string
	zones      []string // the data centre of zone z is site zones[z]+"-dc"
	pop        string   // the region's point-of-presence site
	bb, dc, ed []*device
}

type device struct {
	name, site, role string
	region           string
	ifaces           []iface // lo0 first
	originate        []netip.Prefix
	peers            []*device
}

type iface struct {
	name  string
	addrs [2]netip.Prefix // IPv4, IPv6
}

type link struct {
	a, b     string // device:interface
	name     string
	capacity string
	cost     int
}

type service struct {
	name     string
	layer    int
	team     string
	deps     []dep
	perZone  []int     // instances by zone, zones numbered region by region
	load     []float64 // peak requests per second by region
	peakHour int       // hour (UTC) of the daily peak of the demand
	capacity int       // per instance, in requests per second
}

type dep struct {
	to      int // index of the service called
	calls   float64
	timeout int // milliseconds
	retries int
}

// Address plan. IPv4: links 10.0.0.0/10 (/31 each), zone prefixes
// 10.64.0.0/10 (/24 each), anycast 10.254.0.0/24, loopbacks 10.255.0.0/16.
// IPv6: links fd00:1::/32 (/127 each), zone prefixes fd00:2:Z::/48,
// anycast fd00:fe::/48, loopbacks fd00:ff::/32.
func addr4(n uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func addr6(group2, group3 uint16, low uint32) netip.Addr {
	b := [16]byte{0xfd, 0x00}
	binary.BigEndian.PutUint16(b[2:], group2)
	binary.BigEndian.PutUint16(b[4:], group3)
	binary.BigEndian.PutUint32(b[12:], low)
	return netip.AddrFrom16(b)
}

var (
	anycast4 = netip.PrefixFrom(addr4(10<<24|254<<16), 24)
	anycast6 = netip.PrefixFrom(addr6(0xfe, 0, 0), 48)
)

// num formats i with leading zeros, at least width digits and as many as n
// needs, so that names sort in order.
func num(i, n, width int) string {
	return fmt.Sprintf("%0*d", max(width, len(strconv.Itoa(n))), i)
}

func (g *generator) buildPlaces() {
	for r := range g.o.Regions {
		rg := &region{name: "r" + num(r+1, g.o.Regions, 2)}
		rg.pop = rg.name + "-pop"
		for z := range g.o.ZonesPerRegion {
			rg.zones = append(rg.zones, rg.name+"-az"+strconv.Itoa(z+1))
		}
		g.regions = append(g.regions, rg)
	}
}

func (g *generator) newDevice(rg *region, name, site, role string) *device {
	id := uint32(len(g.devices) + 1)
	d := &device{name: name, site: site, role: role, region: rg.name}
	d.ifaces = []iface{{name: "lo0", addrs: [2]netip.Prefix{
		netip.PrefixFrom(addr4(10<<24|255<<16|id), 32),
		netip.PrefixFrom(addr6(0xff, 0, id), 128),
	}}}
	g.devices = append(g.devices, d)
	return d
}

func (g *generator) connect(a, b *device, capacity string, cost int) {
	k := uint32(len(g.links))
	ia, ib := "et"+strconv.Itoa(len(a.ifaces)), "et"+strconv.Itoa(len(b.ifaces))
	a.ifaces = append(a.ifaces, iface{name: ia, addrs: [2]netip.Prefix{
		netip.PrefixFrom(addr4(10<<24|2*k), 31), netip.PrefixFrom(addr6(1, 0, 2*k), 127)}})
	b.ifaces = append(b.ifaces, iface{name: ib, addrs: [2]netip.Prefix{
		netip.PrefixFrom(addr4(10<<24|2*k+1), 31), netip.PrefixFrom(addr6(1, 0, 2*k+1), 127)}})
	g.links = append(g.links, link{
		name: a.name + "--" + b.name, a: a.name + ":" + ia, b: b.name + ":" + ib,
		capacity: capacity, cost: cost,
	})
}

func peer(a, b *device) {
	a.peers = append(a.peers, b)
	b.peers = append(b.peers, a)
}

// buildNetwork builds the routers of each region (a ring of backbone routers
// with chords, data-centre and edge routers each homed to two backbone
// routers), joins the regions in a ring, and sets up iBGP: the first two
// backbone routers of each region are route reflectors, meshed with every
// other reflector and serving every other router of their region.
func (g *generator) buildNetwork() {
	nz := g.o.ZonesPerRegion
	for r, rg := range g.regions {
		n := g.o.Routers / g.o.Regions
		if r < g.o.Routers%g.o.Regions {
			n++
		}
		extra := n - (nz + 3)
		nb, ne := 2+extra/4, 1+extra/8
		nd := n - nb - ne
		for i := range nb {
			rg.bb = append(rg.bb, g.newDevice(rg, rg.name+"-bb-"+num(i+1, nb, 3), rg.zones[i%nz]+"-dc", "backbone"))
		}
		for i := range nd {
			zone := rg.zones[i%nz]
			rg.dc = append(rg.dc, g.newDevice(rg, zone+"-dc-"+num(i/nz+1, nd/nz+1, 3), zone+"-dc", "dc"))
		}
		for i := range ne {
			rg.ed = append(rg.ed, g.newDevice(rg, rg.name+"-edge-"+num(i+1, ne, 3), rg.pop, "edge"))
		}

		if nb == 2 {
			g.connect(rg.bb[0], rg.bb[1], "400Gbps", 10+g.rng.IntN(10))
		} else {
			for i := range nb {
				g.connect(rg.bb[i], rg.bb[(i+1)%nb], "400Gbps", 10+g.rng.IntN(10))
			}
		}
		if nb >= 8 {
			for i := 0; i < nb/2; i += 4 {
				g.connect(rg.bb[i], rg.bb[i+nb/2], "400Gbps", 20+g.rng.IntN(20))
			}
		}
		for i, d := range rg.dc {
			g.connect(d, rg.bb[i%nb], "100Gbps", 10)
			g.connect(d, rg.bb[(i+1)%nb], "100Gbps", 10)
			zi := r*nz + i%nz
			d.originate = []netip.Prefix{
				netip.PrefixFrom(addr4(10<<24|64<<16+uint32(zi)<<8), 24),
				netip.PrefixFrom(addr6(2, uint16(zi), 0), 48),
			}
		}
		for i, d := range rg.ed {
			g.connect(d, rg.bb[(i+nb/2)%nb], "100Gbps", 10)
			g.connect(d, rg.bb[(i+nb/2+1)%nb], "100Gbps", 10)
			d.originate = []netip.Prefix{anycast4, anycast6}
		}
	}
	for r, rg := range g.regions {
		if len(g.regions) == 1 || (len(g.regions) == 2 && r == 1) {
			break
		}
		next := g.regions[(r+1)%len(g.regions)]
		for i := range 2 {
			g.connect(rg.bb[i], next.bb[i], "400Gbps", 100+g.rng.IntN(50))
		}
	}

	var reflectors []*device
	for _, rg := range g.regions {
		reflectors = append(reflectors, rg.bb[0], rg.bb[1])
	}
	for i, a := range reflectors {
		for _, b := range reflectors[i+1:] {
			peer(a, b)
		}
	}
	for _, rg := range g.regions {
		for _, list := range [][]*device{rg.bb[2:], rg.dc, rg.ed} {
			for _, d := range list {
				peer(d, rg.bb[0])
				peer(d, rg.bb[1])
			}
		}
	}
}

// buildServices builds a layered dependency graph (every service outside the
// last layer calls one to three services of deeper layers, and every
// service outside the first is called by one of the layer above), spreads
// the instances, sets the demand on the services of the first layer and
// sizes each service's instances for its peak load with any zone lost.
func (g *generator) buildServices() {
	ns, nr, nz := g.o.Services, g.o.Regions, g.o.ZonesPerRegion
	zones := nr * nz
	layers := min(ns, maxLayers)
	start := func(l int) int { return l * ns / layers }
	for l := range layers {
		for i := start(l); i < start(l+1); i++ {
			g.services = append(g.services, &service{
				name:    "svc-" + num(i+1, ns, 3),
				layer:   l,
				team:    "team-" + num(g.rng.IntN(20)+1, 20, 2),
				perZone: make([]int, zones),
				load:    make([]float64, nr),
			})
		}
	}
	for l := 0; l+1 < layers; l++ {
		size := start(l+1) - start(l)
		called := map[[2]int]bool{}
		add := func(from, to int) {
			if called[[2]int{from, to}] {
				return
			}
			called[[2]int{from, to}] = true
			s := g.services[from]
			s.deps = append(s.deps, dep{
				to:      to,
				calls:   []float64{0.5, 1, 1, 2}[g.rng.IntN(4)],
				timeout: 100 * (1 + g.rng.IntN(5)),
				retries: g.rng.IntN(3),
			})
		}
		for j := start(l + 1); j < start(l+2); j++ {
			add(start(l)+(j-start(l+1))%size, j)
		}
		pool := ns - start(l+1)
		for i := start(l); i < start(l+1); i++ {
			want := min(1+g.rng.IntN(3), pool)
			for len(g.services[i].deps) < want {
				add(i, start(l+1)+g.rng.IntN(pool))
			}
			sort.Slice(g.services[i].deps, func(a, b int) bool { return g.services[i].deps[a].to < g.services[i].deps[b].to })
		}
	}

	for i, s := range g.services {
		n := g.o.Instances / ns
		if i < g.o.Instances%ns {
			n++
		}
		for z := range zones {
			s.perZone[z] = n / zones
			if (z-i%zones+zones)%zones < n%zones {
				s.perZone[z]++
			}
		}
		if s.layer == 0 {
			for r := range nr {
				s.load[r] = float64(100 * (2 + g.rng.IntN(19)))
			}
			s.peakHour = g.rng.IntN(24)
		}
	}
	// Dependencies point to later services, so one pass in order carries
	// the load down the graph.
	for _, s := range g.services {
		for _, d := range s.deps {
			for r := range nr {
				g.services[d.to].load[r] += s.load[r] * d.calls
			}
		}
	}
	for _, s := range g.services {
		need := 0.0
		for r := range nr {
			total, biggest := 0, 0
			for _, c := range s.perZone[r*nz : (r+1)*nz] {
				total += c
				biggest = max(biggest, c)
			}
			need = max(need, s.load[r]/(utilization*float64(total-biggest)))
		}
		s.capacity = 10 * max(1, int(math.Ceil(need/10)))
	}
}

func doc(b *strings.Builder, format string, args ...any) {
	b.WriteString("---\n")
	fmt.Fprintf(b, format, args...)
}

func (g *generator) writePlaces(b *strings.Builder) {
	for _, rg := range g.regions {
		doc(b, "{kind: Region, name: %s}\n", rg.name)
	}
	for _, rg := range g.regions {
		for _, z := range rg.zones {
			doc(b, "{kind: Zone, name: %s, region: %s}\n", z, rg.name)
		}
	}
	for _, rg := range g.regions {
		for _, z := range rg.zones {
			doc(b, "{kind: Site, name: %s-dc, type: datacenter, region: %s, zone: %s}\n", z, rg.name, z)
		}
		doc(b, "{kind: Site, name: %s, type: pop, region: %s}\n", rg.pop, rg.name)
	}
}

func (g *generator) writeNetwork(b *strings.Builder) {
	limits := map[string]int{"backbone": 2_000_000, "dc": 500_000, "edge": 1_000_000}
	for _, d := range g.devices {
		doc(b, "kind: Device\nname: %s\nlabels: {region: %s}\nsite: %s\nrole: %s\nrouterID: %s\nrouteLimit: %d\ninterfaces:\n",
			d.name, d.region, d.site, d.role, d.ifaces[0].addrs[0].Addr(), limits[d.role])
		for _, f := range d.ifaces {
			fmt.Fprintf(b, "  - {name: %s, addresses: [%s, %q]}\n", f.name, f.addrs[0], f.addrs[1].String())
		}
		fmt.Fprintf(b, "bgp:\n  asn: %d\n", asn)
		if len(d.originate) > 0 {
			fmt.Fprintf(b, "  originate: [%s, %q]\n", d.originate[0], d.originate[1].String())
		}
		b.WriteString("  neighbors:\n")
		for _, p := range d.peers {
			fmt.Fprintf(b, "    - {name: %s, peer: %s, address: %s, remoteASN: %d}\n", p.name, p.name, p.ifaces[0].addrs[0].Addr(), asn)
		}
	}
	for _, a := range []struct {
		name   string
		prefix netip.Prefix
	}{{"anycast-v4", anycast4}, {"anycast-v6", anycast6}} {
		doc(b, "kind: AnycastPrefix\nname: %s\nprefix: %q\nannouncements:\n", a.name, a.prefix.String())
		for _, rg := range g.regions {
			fmt.Fprintf(b, "  - {site: %s, device: %s, withdrawUnless: [%s-dc]}\n", rg.pop, rg.ed[0].name, strings.Join(rg.zones, "-dc, "))
		}
	}
}

func (g *generator) writeLinks(b *strings.Builder) {
	for _, l := range g.links {
		doc(b, "{kind: Link, name: %s, a: %q, b: %q, capacity: %s, cost: %d}\n", l.name, l.a, l.b, l.capacity, l.cost)
	}
}

func (g *generator) writeServices(b *strings.Builder) {
	criticality := []string{"critical", "high", "medium", "medium"}
	for _, s := range g.services {
		total, perRegion, perZone := 0, math.MaxInt, math.MaxInt
		nz := g.o.ZonesPerRegion
		for r := range g.o.Regions {
			inRegion := 0
			for _, c := range s.perZone[r*nz : (r+1)*nz] {
				inRegion += c
				perZone = min(perZone, c)
			}
			total += inRegion
			perRegion = min(perRegion, inRegion)
		}
		doc(b, "kind: Service\nname: %s\nlabels: {layer: \"%d\", team: %s}\ncriticality: %s\nowners: [%s]\ninstanceCapacity: %drps\nheadroom: 20%%\n",
			s.name, s.layer, s.team, criticality[s.layer], s.team, s.capacity)
		b.WriteString("floors: {")
		sep := ""
		for _, f := range []struct {
			name string
			n    int
		}{{"total", total / 2}, {"perRegion", perRegion / 2}, {"perZone", perZone / 2}} {
			if f.n > 0 {
				fmt.Fprintf(b, "%s%s: {instances: %d}", sep, f.name, f.n)
				sep = ", "
			}
		}
		b.WriteString("}\n")
		if len(s.deps) > 0 {
			b.WriteString("dependencies:\n")
		}
		for _, d := range s.deps {
			fmt.Fprintf(b, "  - {service: %s, callsPerRequest: %s, timeout: %dms", g.services[d.to].name, strconv.FormatFloat(d.calls, 'f', -1, 64), d.timeout)
			if d.retries > 0 {
				fmt.Fprintf(b, ", retries: %d, backoff: 50ms", d.retries)
			}
			b.WriteString("}\n")
		}
		b.WriteString("slo: {availability: 99.9%, latencyP99: 250ms}\n")
	}
}

func (g *generator) writeInstances(b *strings.Builder) {
	b.Grow(100 * g.o.Instances)
	for _, s := range g.services {
		for zi, n := range s.perZone {
			zone := g.regions[zi/g.o.ZonesPerRegion].zones[zi%g.o.ZonesPerRegion]
			for k := range n {
				doc(b, "{kind: Instance, name: %s-%s-%s, service: %s, zone: %s}\n", s.name, zone, num(k+1, n, 3), s.name, zone)
			}
		}
	}
}

func (g *generator) writeTraffic(b *strings.Builder) {
	var regions []string
	for _, rg := range g.regions {
		regions = append(regions, rg.name)
	}
	for _, s := range g.services {
		if s.layer != 0 {
			continue
		}
		for _, rg := range g.regions {
			doc(b, "kind: LoadBalancer\nname: %s-%s\nregion: %s\nalgorithm: least-request\ncrossZone: true\npanicThreshold: 50%%\n"+
				"healthCheck: {path: /healthz, interval: 10s, timeout: 2s, healthyThreshold: 2, unhealthyThreshold: 3}\n"+
				"targets:\n  - {name: %s, service: %s, region: %s}\n",
				s.name, rg.name, rg.name, rg.name, s.name, rg.name)
		}
		doc(b, "kind: DNSRecord\nname: %s.example.com\ntype: A\nttl: 60s\npolicy: latency\nservesRegions: [%s]\nanswers:\n", s.name, strings.Join(regions, ", "))
		for _, rg := range g.regions {
			fmt.Fprintf(b, "  - {name: %s, region: %s, loadBalancer: %s-%s, healthChecked: true}\n", rg.name, rg.name, s.name, rg.name)
		}
		doc(b, "kind: Demand\nname: %s-clients\ndns: %s.example.com\norigins:\n", s.name, s.name)
		for r, rg := range g.regions {
			fmt.Fprintf(b, "  - {region: %s, peak: %srps}\n", rg.name, strconv.FormatFloat(s.load[r], 'f', -1, 64))
		}
		b.WriteString("profile: [")
		for h := range 24 {
			f := 0.55 + 0.45*math.Cos(2*math.Pi*float64(h-s.peakHour)/24)
			if h > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64))
		}
		b.WriteString("]\n")
	}
}

func (g *generator) writeGuardrails(b *strings.Builder) {
	doc(b, "kind: BlastRadiusLimit\nname: entry-services\nservices: {layer: \"0\"}\nmaxShareTotal: 25%%\nmaxSharePerRegion: 50%%\nmaxSharePerZone: 100%%\nmaxObjects: 500\nseverity: critical\n")
}
