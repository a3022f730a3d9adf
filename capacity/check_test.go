package capacity_test

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/capacity"
	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

// ---- floors -------------------------------------------------------------------

// floorsTwin is service web, 100rps an instance, with floors at every
// level; floorsFiles gives it two instances in r1-a, one in r1-b and one in
// r2-a.
const floorsTwin = `kind: Service
name: web
instanceCapacity: 100rps
floors:
  total: {instances: 4, capacity: 350rps}
  perRegion: {instances: 1}
  perZone: {instances: 1}
`

func floorsFiles(svc string) map[string]string {
	return map[string]string{
		"places.yaml":   places,
		"services.yaml": svc + instances("web", "web-1@r1-a", "web-2@r1-a", "web-3@r1-b", "web-4@r2-a"),
	}
}

func TestFloors(t *testing.T) {
	// A total floor of 5 instances is already broken before any change.
	broken := strings.Replace(floorsTwin, "instances: 4,", "instances: 5,", 1)
	cases := []struct {
		name string
		svc  string
		cmds []string
		want []string
	}{
		{
			name: "removing an instance breaks the total and the zone floor",
			svc:  floorsTwin,
			cmds: []string{"remove instance web-3"},
			want: []string{
				"critical capacity.floor/web/total=total/capacity",
				"critical capacity.floor/web/total=total/instances",
				"critical capacity.floor/web/zone=r1-b/instances",
			},
		},
		{
			name: "an instance down counts like one removed",
			svc:  floorsTwin,
			cmds: []string{"shutdown instance web-4"},
			want: []string{
				"critical capacity.floor/web/region=r2/instances",
				"critical capacity.floor/web/total=total/capacity",
				"critical capacity.floor/web/total=total/instances",
				"critical capacity.floor/web/zone=r2-a/instances",
			},
		},
		{
			name: "a zone drained as a whole is not held to the per-zone floor",
			svc:  floorsTwin,
			cmds: []string{"drain zone r1-b"},
			want: []string{
				"critical capacity.floor/web/total=total/capacity",
				"critical capacity.floor/web/total=total/instances",
			},
		},
		{
			name: "removing from a zone that keeps its floor breaks only the total",
			svc:  floorsTwin,
			cmds: []string{"remove instance web-1"},
			want: []string{
				"critical capacity.floor/web/total=total/capacity",
				"critical capacity.floor/web/total=total/instances",
			},
		},
		{
			name: "adding capacity breaks nothing",
			svc:  floorsTwin,
			cmds: []string{"add instances service=web zone=r2-a count=2"},
		},
		{
			name: "a change that does not touch capacity",
			svc:  floorsTwin,
			cmds: []string{"set instance web-1 labels.canary=yes"},
		},
		{
			name: "a violation that existed before is a warning",
			svc:  broken,
			cmds: []string{"set instance web-1 labels.canary=yes"},
			want: []string{"warning capacity.floor/web/total=total/instances"},
		},
		{
			name: "a change that mends a violation reports nothing",
			svc:  broken,
			cmds: []string{"add instances service=web zone=r2-a"},
		},
		{
			name: "new violations are critical next to an old one",
			svc:  broken,
			cmds: []string{"remove instance web-3"},
			want: []string{
				"critical capacity.floor/web/total=total/capacity",
				"critical capacity.floor/web/zone=r1-b/instances",
				"warning capacity.floor/web/total=total/instances",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := load(t, floorsFiles(c.svc))
			fs := capacity.Check(apply(t, s, c.cmds...))
			sameLines(t, "findings", summary(fs), c.want)
			wellFormed(t, fs)
		})
	}
}

func TestFloorFindingDetails(t *testing.T) {
	files := floorsFiles(floorsTwin)
	text := files["services.yaml"]
	fs := capacity.Check(apply(t, load(t, files), "remove instance web-3"))

	zone := find(t, fs, "capacity.floor/web/zone=r1-b/instances")
	if zone.Category != "capacity.floor" || zone.Severity != finding.Critical {
		t.Errorf("category %q severity %q", zone.Category, zone.Severity)
	}
	if want := "service web falls below its instances floor in zone r1-b: 0 serving, the floor is 1"; zone.Message != want {
		t.Errorf("message %q, want %q", zone.Message, want)
	}
	sameLines(t, "evidence", zone.Evidence.Lines, []string{"web in zone r1-b: 0 serving < floor 1 (floors.perZone)"})
	wantFigures := []finding.Figure{{Name: "instances serving", Value: 0, Unit: "instances"}, {Name: "floor", Value: 1, Unit: "instances"}}
	if !reflect.DeepEqual(zone.Evidence.Figures, wantFigures) {
		t.Errorf("figures %+v, want %+v", zone.Evidence.Figures, wantFigures)
	}
	if o := zone.Objects[0]; o.Kind != "Service" || o.Name != "web" {
		t.Errorf("object %s/%s, want Service/web", o.Kind, o.Name)
	}
	at(t, zone, 0, "services.yaml", text, "  perZone:")

	total := find(t, fs, "capacity.floor/web/total=total/capacity")
	if want := "service web falls below its capacity floor in total: 300rps serving, the floor is 350rps"; total.Message != want {
		t.Errorf("message %q, want %q", total.Message, want)
	}
	sameLines(t, "evidence", total.Evidence.Lines, []string{"web in total: 300rps serving < floor 350rps (floors.total)"})
	at(t, total, 0, "services.yaml", text, "  total:")

	// The same finding before the change says so.
	broken := floorsFiles(strings.Replace(floorsTwin, "instances: 4,", "instances: 5,", 1))
	fs = capacity.Check(apply(t, load(t, broken), "remove instance web-3"))
	old := find(t, fs, "capacity.floor/web/total=total/instances")
	if want := "service web falls below its instances floor in total: 3 serving, the floor is 5 (already so before this change)"; old.Message != want {
		t.Errorf("message %q, want %q", old.Message, want)
	}
}

// ---- peak load, N-1 and headroom ---------------------------------------------------

// peakFiles: web, 100rps an instance, two instances in each zone of r1;
// clients in r1 send it 150rps at peak.
func peakFiles(headroom, extraOrigin string) map[string]string {
	svc := "kind: Service\nname: web\ninstanceCapacity: 100rps\n"
	if headroom != "" {
		svc += "headroom: " + headroom + "\n"
	}
	svc += instances("web", "web-1@r1-a", "web-2@r1-a", "web-3@r1-b", "web-4@r1-b")
	demand := "kind: Demand\nname: users\nservice: web\norigins:\n  - region: r1\n    peak: 150rps\n" + extraOrigin
	return map[string]string{"places.yaml": places, "services.yaml": svc, "demand.yaml": demand}
}

func TestHeadroom(t *testing.T) {
	cases := []struct {
		name     string
		headroom string
		extra    string
		cmds     []string
		want     []string
	}{
		{
			name: "enough capacity with a zone lost",
			cmds: []string{"set instance web-1 labels.canary=yes"},
		},
		{
			name: "losing the larger zone leaves too little",
			cmds: []string{"remove instance web-3"},
			want: []string{"critical capacity.n-1/web/region=r1"},
		},
		{
			name: "a region left with one serving zone",
			cmds: []string{"remove instance web-3", "remove instance web-4"},
			want: []string{"critical capacity.n-1/web/region=r1"},
		},
		{
			name: "too little for the peak itself",
			cmds: []string{"remove instances service=web count=3"},
			want: []string{"critical capacity.peak/web/region=r1"},
		},
		{
			name:     "headroom that still fits leaves the N-1 finding",
			headroom: "50%",
			cmds:     []string{"remove instance web-3"},
			want:     []string{"critical capacity.n-1/web/region=r1"},
		},
		{
			name:     "headroom raises the bar for the peak",
			headroom: "50%",
			cmds:     []string{"remove instance web-3", "remove instance web-4"},
			want:     []string{"critical capacity.peak/web/region=r1"},
		},
		{
			name:     "full headroom met exactly",
			headroom: "100%",
			cmds:     []string{"set instance web-1 labels.canary=yes"},
		},
		{
			name:  "demand where the service does not run, before and after",
			extra: "  - region: r2\n    peak: 50rps\n",
			cmds:  []string{"remove instance web-3"},
			want: []string{
				"critical capacity.n-1/web/region=r1",
				"warning capacity.peak/web/region=r2",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := load(t, peakFiles(c.headroom, c.extra))
			fs := capacity.Check(apply(t, s, c.cmds...))
			sameLines(t, "findings", summary(fs), c.want)
			wellFormed(t, fs)
		})
	}
}

func TestHeadroomFindingDetails(t *testing.T) {
	files := peakFiles("", "")
	text := files["services.yaml"]
	fs := capacity.Check(apply(t, load(t, files), "remove instance web-3"))
	n1 := find(t, fs, "capacity.n-1/web/region=r1")
	if n1.Category != "capacity.n-1" || n1.Severity != finding.Critical {
		t.Errorf("category %q severity %q", n1.Category, n1.Severity)
	}
	if want := "service web in r1 has no N-1 zone headroom: losing r1-a leaves 100rps for 150rps at peak"; n1.Message != want {
		t.Errorf("message %q, want %q", n1.Message, want)
	}
	sameLines(t, "evidence", n1.Evidence.Lines, []string{
		"web peak load in r1: 150rps",
		"without r1-a: 100rps left (2 instances in it) — short by 50rps",
		"without r1-b: 200rps left (1 instances in it) — ok",
	})
	wantFigures := []finding.Figure{
		{Name: "capacity without r1-a", Value: 100, Unit: "rps"},
		{Name: "peak load", Value: 150, Unit: "rps"},
		{Name: "utilisation", Value: 1.5, Unit: "ratio"},
	}
	if !reflect.DeepEqual(n1.Evidence.Figures, wantFigures) {
		t.Errorf("figures %+v, want %+v", n1.Evidence.Figures, wantFigures)
	}
	at(t, n1, 0, "services.yaml", text, "instanceCapacity:")

	files = peakFiles("50%", "")
	fs = capacity.Check(apply(t, load(t, files), "remove instance web-3", "remove instance web-4"))
	peak := find(t, fs, "capacity.peak/web/region=r1")
	if want := "service web in r1 cannot carry its peak load: 200rps of capacity for 150rps at peak plus its 50% headroom"; peak.Message != want {
		t.Errorf("message %q, want %q", peak.Message, want)
	}
	sameLines(t, "evidence", peak.Evidence.Lines, []string{"2 serving instances in r1 = 200rps; peak load 150rps × 1.50 required = 225rps"})
	at(t, peak, 0, "services.yaml", files["services.yaml"], "instanceCapacity:")
}

// ---- DNS ----------------------------------------------------------------------------

// dnsFiles: web in r1-a and r2-a behind one load balancer per region, and
// records of every policy over them.
func dnsFiles() map[string]string {
	return map[string]string{
		"places.yaml": places,
		"services.yaml": "kind: Service\nname: web\ninstanceCapacity: 100rps\n" +
			instances("web", "web-1@r1-a", "web-2@r2-a"),
		"dns.yaml": `kind: LoadBalancer
name: lb-1
region: r1
targets:
  - {name: a, service: web, region: r1}
---
kind: LoadBalancer
name: lb-2
region: r2
targets:
  - {name: a, service: web, region: r2}
---
kind: DNSRecord
name: split
ttl: 60s
policy: weighted
servesRegions: [r1]
answers:
  - {name: one, loadBalancer: lb-1, weight: 3}
  - {name: two, loadBalancer: lb-2, weight: 1}
---
kind: DNSRecord
name: fo
ttl: 60s
policy: failover
answers:
  - {name: main, loadBalancer: lb-1, failover: primary, healthChecked: true}
  - {name: backup, loadBalancer: lb-2, failover: secondary, healthChecked: true}
---
kind: DNSRecord
name: fo-unchecked
ttl: 60s
policy: failover
servesRegions: [r2]
answers:
  - {name: main, loadBalancer: lb-1, failover: primary}
  - {name: backup, loadBalancer: lb-2, failover: secondary}
---
kind: DNSRecord
name: static
type: A
ttl: 5m
answers:
  - {name: v, values: [192.0.2.1]}
`,
	}
}

func TestDNSAnswers(t *testing.T) {
	cases := []struct {
		name string
		cmds []string
		want []string
	}{
		{
			name: "all weights zero: no answer in the one served region",
			cmds: []string{"set dns split weight one=0 two=0"},
			want: []string{"critical dns.no-healthy-answer/split/region=r1"},
		},
		{
			name: "one weight zero leaves the other",
			cmds: []string{"set dns split weight one=0"},
		},
		{
			name: "primary down: failover to the health-checked secondary; the unchecked record keeps its primary",
			cmds: []string{"shutdown instance web-1"},
			want: []string{"critical dns.no-healthy-answer/fo-unchecked/region=r2"},
		},
		{
			name: "a drained zone empties the primary like a shutdown",
			cmds: []string{"drain zone r1-a"},
			want: []string{"critical dns.no-healthy-answer/fo-unchecked/region=r2"},
		},
		{
			name: "everything down: every served region of every record but the static one",
			cmds: []string{"shutdown instance web-1", "shutdown instance web-2"},
			want: []string{
				"critical dns.no-healthy-answer/fo-unchecked/region=r2",
				"critical dns.no-healthy-answer/fo/region=r1",
				"critical dns.no-healthy-answer/fo/region=r2",
				"critical dns.no-healthy-answer/fo/region=r3",
				"critical dns.no-healthy-answer/split/region=r1",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := capacity.Check(apply(t, load(t, dnsFiles()), c.cmds...))
			sameLines(t, "findings", summary(fs), c.want)
			wellFormed(t, fs)
		})
	}
}

func TestDNSFindingDetails(t *testing.T) {
	files := dnsFiles()
	text := files["dns.yaml"]

	fs := capacity.Check(apply(t, load(t, files), "set dns split weight one=0 two=0"))
	f := find(t, fs, "dns.no-healthy-answer/split/region=r1")
	if f.Category != "dns" || f.Severity != finding.Critical {
		t.Errorf("category %q severity %q", f.Category, f.Severity)
	}
	if want := "DNS name split gives clients in r1 no healthy answer"; f.Message != want {
		t.Errorf("message %q, want %q", f.Message, want)
	}
	sameLines(t, "evidence", f.Evidence.Lines, []string{
		"answer one: healthy via load balancer lb-1 (target a weight 1, 100rps serving)",
		"answer two: healthy via load balancer lb-2 (target a weight 1, 100rps serving)",
	})
	at(t, f, 0, "dns.yaml", text, "  - {name: one")

	fs = capacity.Check(apply(t, load(t, files), "shutdown instance web-1", "shutdown instance web-2"))
	f = find(t, fs, "dns.no-healthy-answer/split/region=r1")
	if want := "DNS name split sends clients in r1 only to unhealthy answers (one, two)"; f.Message != want {
		t.Errorf("message %q, want %q", f.Message, want)
	}
	f = find(t, fs, "dns.no-healthy-answer/fo/region=r3")
	if want := "DNS name fo gives clients in r3 no healthy answer"; f.Message != want {
		t.Errorf("message %q, want %q", f.Message, want)
	}
	sameLines(t, "evidence", f.Evidence.Lines, []string{
		"answer main: unhealthy via load balancer lb-1 (target a weight 1, 0rps serving)",
		"answer backup: unhealthy via load balancer lb-2 (target a weight 1, 0rps serving)",
	})
	at(t, f, 0, "dns.yaml", text, "  - {name: main, loadBalancer: lb-1, failover: primary, healthChecked")
}

func TestResolve(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		cmds   []string
		record string
		region string
		want   []string // "answer share healthy"
	}{
		{"weighted splits by weight", dnsFiles(), nil, "split", "r1", []string{"one 0.75 true", "two 0.25 true"}},
		{"weighted without the zero weight", dnsFiles(), []string{"set dns split weight one=0"}, "split", "r1", []string{"two 1 true"}},
		{"weighted with every weight zero", dnsFiles(), []string{"set dns split weight one=0 two=0"}, "split", "r1", nil},
		{"weighted keeps unchecked unhealthy answers", dnsFiles(), []string{"shutdown instance web-1"}, "split", "r1", []string{"one 0.75 false", "two 0.25 true"}},
		{"failover primary", dnsFiles(), nil, "fo", "r2", []string{"main 1 true"}},
		{"failover to secondary", dnsFiles(), []string{"shutdown instance web-1"}, "fo", "r2", []string{"backup 1 true"}},
		{"failover with nothing healthy", dnsFiles(), []string{"shutdown instance web-1", "shutdown instance web-2"}, "fo", "r2", nil},
		{"unchecked primary stays", dnsFiles(), []string{"shutdown instance web-1"}, "fo-unchecked", "r2", []string{"main 1 false"}},
		{"simple record", dnsFiles(), nil, "static", "r3", []string{"v 1 true"}},
		{"latency: the region's own answer", trafficFiles(), nil, "www", "r2", []string{"r2 1 true"}},
		{"latency: a region without an answer gets the first healthy one", trafficFiles(), nil, "www", "r3", []string{"r1 1 true"}},
		{"latency: checked and unhealthy fails over", trafficFiles(), []string{"shutdown instance front-1", "shutdown instance front-2"}, "www", "r1", []string{"r2 1 true"}},
		{"latency: unchecked and unhealthy stays", trafficFiles(), []string{"shutdown instance front-3", "set dns www answers[r2].healthChecked=false"}, "www", "r2", []string{"r2 1 false"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := after(t, c.files, c.cmds...)
			rec := lookupDNS(t, s, c.record)
			var got []string
			for _, a := range capacity.Resolve(s, rec, c.region) {
				got = append(got, a.Answer.Name+" "+num(a.Share)+" "+strconv.FormatBool(a.Healthy))
			}
			sameLines(t, "answers", got, c.want)
		})
	}
}

func TestZoneLossesTwo(t *testing.T) {
	s, err := twin.Load("../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	api := *twin.Lookup[twin.Service](s, "api")
	api.ZoneLosses = 2
	s = s.Edit([]twin.Object{&api}, nil)
	ops, err := change.Compile("drain instance api-use1-az1-1")
	if err != nil {
		t.Fatal(err)
	}
	res, err := change.Apply(s, &change.ChangeSet{Operations: ops})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range capacity.Check(res) {
		ids = append(ids, f.ID)
	}
	// Sized for one zone lost, api cannot lose two of a region's three.
	if !slices.Contains(ids, "capacity.n-2/api/region=us-east-1") {
		t.Errorf("findings %v", ids)
	}
}
