package failures

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/twin"
)

// topo writes small test twins: devices with a loopback (10.0.0.i/32 and
// fd00::i/128), links with a /31 and a /127 each (link k: 10.1.k.0/31 and
// fd00:1:0:k::/127, the a end taking the lower address) on interfaces
// named e<k>, sites of one region and zone, and any other documents.
type topo struct {
	devs  []*tdev
	links []string
	docs  []string
}

type tdev struct {
	name, site string
	id         int
	ifaces     []string // YAML flow mappings
	statics    []string // YAML flow mappings
}

func (t *topo) dev(name string) *tdev {
	d := &tdev{name: name, site: "s1", id: len(t.devs) + 1}
	d.ifaces = append(d.ifaces, fmt.Sprintf(`{name: lo0, addresses: [10.0.0.%d/32, "fd00::%x/128"]}`, d.id, d.id))
	t.devs = append(t.devs, d)
	return d
}

func (t *topo) devsNamed(names ...string) {
	for _, n := range names {
		t.dev(n)
	}
}

func (t *topo) get(name string) *tdev {
	for _, d := range t.devs {
		if d.name == name {
			return d
		}
	}
	panic("no device " + name)
}

// link joins a and b with an IGP cost and returns the link's name: a--b,
// with a suffix for parallel links.
func (t *topo) link(a, b string, cost int) string {
	k := len(t.links)
	for i, name := range []string{a, b} {
		t.get(name).ifaces = append(t.get(name).ifaces,
			fmt.Sprintf(`{name: e%d, addresses: [10.1.%d.%d/31, "fd00:1:0:%x::%x/127"]}`, k, k, i, k, i))
	}
	name := a + "--" + b
	for n := 2; slices.ContainsFunc(t.links, func(l string) bool { return strings.Contains(l, "name: "+name+"\n") }); n++ {
		name = fmt.Sprintf("%s--%s-%d", a, b, n)
	}
	t.links = append(t.links, fmt.Sprintf("kind: Link\nname: %s\na: %s:e%d\nb: %s:e%d\ncapacity: 100Gbps\ncost: %d\n", name, a, k, b, k, cost))
	return name
}

func (t *topo) files() map[string][]byte {
	var b strings.Builder
	b.WriteString("kind: Region\nname: r\n---\nkind: Zone\nname: z\nregion: r\n")
	var sites []string
	for _, d := range t.devs {
		if !slices.Contains(sites, d.site) {
			sites = append(sites, d.site)
		}
	}
	for _, s := range sites {
		fmt.Fprintf(&b, "---\nkind: Site\nname: %s\ntype: datacenter\nregion: r\nzone: z\n", s)
	}
	for _, d := range t.devs {
		fmt.Fprintf(&b, "---\nkind: Device\nname: %s\nsite: %s\nrouterID: 10.0.0.%d\ninterfaces:\n", d.name, d.site, d.id)
		for _, f := range d.ifaces {
			fmt.Fprintf(&b, "  - %s\n", f)
		}
		if len(d.statics) > 0 {
			b.WriteString("staticRoutes:\n")
		}
		for _, r := range d.statics {
			fmt.Fprintf(&b, "  - %s\n", r)
		}
	}
	for _, l := range t.links {
		b.WriteString("---\n" + l)
	}
	for _, d := range t.docs {
		b.WriteString("---\n" + d)
	}
	return map[string][]byte{"twin.yaml": []byte(b.String())}
}

func (t *topo) load(tb testing.TB) *twin.Snapshot {
	tb.Helper()
	s, err := twin.LoadFiles(t.files())
	if err != nil {
		tb.Fatalf("%v\n%s", err, t.files()["twin.yaml"])
	}
	return s
}

// ring returns a ring of n routers r1…rn, links of cost 10.
func ring(n int) *topo {
	t := &topo{}
	for i := 1; i <= n; i++ {
		t.dev(fmt.Sprintf("r%d", i))
	}
	for i := 1; i <= n; i++ {
		t.link(fmt.Sprintf("r%d", i), fmt.Sprintf("r%d", i%n+1), 10)
	}
	return t
}

// sweep runs a sweep and fails the test on error.
func sweep(tb testing.TB, s *twin.Snapshot, inv Invariant, o Options) *Result {
	tb.Helper()
	r, err := Sweep(s, inv, o)
	if err != nil {
		tb.Fatal(err)
	}
	checkStats(tb, r)
	return r
}

// checkStats checks that every set is counted once.
func checkStats(tb testing.TB, r *Result) {
	tb.Helper()
	st := r.Stats
	if sum := st.Checked + st.Symmetric + st.Proven + st.Subsumed + st.NonMinimal + st.Vacuous + st.Unchecked; sum != st.Considered {
		tb.Errorf("stats do not add up: %+v sums to %d, want %d", st, sum, st.Considered)
	}
}

// sets renders the failing sets, one per line: "link a, link b".
func sets(r *Result) []string {
	var out []string
	for _, fs := range r.Failing {
		names := make([]string, len(fs.Elements))
		for i, e := range fs.Elements {
			names[i] = e.String()
		}
		out = append(out, strings.Join(names, ", "))
	}
	return out
}
