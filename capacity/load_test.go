package capacity_test

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/preflight-sh/preflight/capacity"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

// trafficFiles: clients resolve www by latency to a load balancer in their
// region, which sends them to front; front calls back twice per request,
// back calls db once every other request. db runs in r1 (one instance) and
// r3 (three), not in r2. A batch demand enters db directly from r3 with a
// daily profile peaking at half its peak.
func trafficFiles() map[string]string {
	return map[string]string{
		"places.yaml": places,
		"services.yaml": `kind: Service
name: front
instanceCapacity: 1krps
dependencies:
  - service: back
    callsPerRequest: 2
---
kind: Service
name: back
instanceCapacity: 1krps
dependencies:
  - service: db
    callsPerRequest: 0.5
---
kind: Service
name: db
instanceCapacity: 1krps
` + instances("front", "front-1@r1-a", "front-2@r1-b", "front-3@r2-a") +
			instances("back", "back-1@r1-a", "back-2@r2-a") +
			instances("db", "db-1@r1-a", "db-2@r3-a", "db-3@r3-a", "db-4@r3-a"),
		"traffic.yaml": `kind: LoadBalancer
name: lb-r1
region: r1
targets:
  - {name: a, service: front, zone: r1-a, weight: 3}
  - {name: b, service: front, zone: r1-b, weight: 1}
---
kind: LoadBalancer
name: lb-r2
region: r2
targets:
  - {name: all, service: front, region: r2}
---
kind: DNSRecord
name: www
ttl: 60s
policy: latency
servesRegions: [r1, r2]
answers:
  - {name: r1, region: r1, loadBalancer: lb-r1, healthChecked: true}
  - {name: r2, region: r2, loadBalancer: lb-r2, healthChecked: true}
---
kind: Demand
name: users
dns: www
origins:
  - {region: r1, peak: 400rps}
  - {region: r2, peak: 100rps}
---
kind: Demand
name: batch
service: db
origins:
  - {region: r3, peak: 100rps}
profile: [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5, 0.5, 0.4, 0.4, 0.3, 0.3, 0.3, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1]
`,
	}
}

func TestPeakLoad(t *testing.T) {
	cases := []struct {
		name string
		cmds []string
		want []string
	}{
		{
			// front: r1 400 (300 to r1-a, 100 to r1-b), r2 100. back: twice
			// that. db: r1 gets back's r1 calls (400); back's r2 calls (100)
			// spread by capacity over r1 (1/4) and r3 (3/4); batch adds
			// 100rps × 0.5 in r3.
			name: "through DNS and load balancers, along dependencies",
			want: []string{"back r1=800", "back r2=200", "db r1=425", "db r3=125", "front r1=400", "front r2=100"},
		},
		{
			name: "a health-checked answer without capacity fails over to another region",
			cmds: []string{"shutdown instance front-3"},
			want: []string{"back r1=1000", "db r1=500", "db r3=50", "front r1=500"},
		},
		{
			name: "an unchecked answer without capacity loses its clients",
			cmds: []string{"shutdown instance front-3", "set dns www answers[r2].healthChecked=false"},
			want: []string{"back r1=800", "db r1=400", "db r3=50", "front r1=400"},
		},
		{
			name: "a dependency without capacity in the caller's region is called where it runs",
			cmds: []string{"shutdown instance db-1"},
			want: []string{"back r1=800", "back r2=200", "db r3=550", "front r1=400", "front r2=100"},
		},
		{
			name: "a dependency without capacity anywhere keeps the caller's region",
			cmds: []string{"remove instances service=db"},
			want: []string{"back r1=800", "back r2=200", "db r1=400", "db r2=100", "db r3=50", "front r1=400", "front r2=100"},
		},
		{
			name: "load balancer weights move load between zones, not regions",
			cmds: []string{"set lb lb-r1 weight a=0"},
			want: []string{"back r1=800", "back r2=200", "db r1=425", "db r3=125", "front r1=400", "front r2=100"},
		},
		{
			name: "calls per request multiply",
			cmds: []string{"set service front dependencies[0].callsPerRequest=3"},
			want: []string{"back r1=1200", "back r2=300", "db r1=637.5", "db r3=162.5", "front r1=400", "front r2=100"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := after(t, trafficFiles(), c.cmds...)
			sameLines(t, "load", loadString(capacity.PeakLoad(s)), c.want)
		})
	}
}

func TestLoadTotal(t *testing.T) {
	l := capacity.PeakLoad(load(t, trafficFiles()))
	for svc, want := range map[string]float64{"front": 500, "back": 1000, "db": 550, "none": 0} {
		if got := l.Total(svc); num(got) != num(want) {
			t.Errorf("Total(%s) = %v, want %v", svc, got, want)
		}
	}
}

func TestTargets(t *testing.T) {
	cases := []struct {
		name string
		cmds []string
		lb   string
		want []string // "target capacity healthy share"
	}{
		{"weights split the traffic", nil, "lb-r1", []string{"a 1000 true 0.75", "b 1000 true 0.25"}},
		{"weight zero", []string{"set lb lb-r1 weight a=0"}, "lb-r1", []string{"a 1000 true 0", "b 1000 true 1"}},
		{"an empty target gets nothing", []string{"shutdown instance front-2"}, "lb-r1", []string{"a 1000 true 1", "b 0 false 0"}},
		{"a region target sums its zones", []string{"add instances service=front zone=r2-a count=2"}, "lb-r2", []string{"all 3000 true 1"}},
		{"no target serving", []string{"drain zone r2-a"}, "lb-r2", []string{"all 0 false 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := after(t, trafficFiles(), c.cmds...)
			lb := twin.Lookup[twin.LoadBalancer](s, c.lb)
			var got []string
			for _, tg := range capacity.Targets(s, lb) {
				got = append(got, tg.Target.Name+" "+num(tg.Capacity)+" "+strconv.FormatBool(tg.Healthy)+" "+num(tg.Share))
			}
			sameLines(t, "targets", got, c.want)
		})
	}
}

// ---- anycast --------------------------------------------------------------------------

// edgeFiles: an anycast prefix announced from data centre dc1 (zone r1-a)
// and from pop1 through its router, the latter withdrawn automatically
// unless dc1 or dc2 (zone r1-b) is up; a DNS record answers with it.
func edgeFiles() map[string]string {
	return map[string]string{
		"places.yaml": places,
		"edge.yaml": `kind: Site
name: dc1
type: datacenter
region: r1
zone: r1-a
---
kind: Site
name: dc2
type: datacenter
region: r1
zone: r1-b
---
kind: Site
name: pop1
type: pop
region: r2
---
kind: Device
name: pop1-r1
site: pop1
---
kind: AnycastPrefix
name: dns-anycast
prefix: 203.0.113.0/24
announcements:
  - site: dc1
  - site: pop1
    device: pop1-r1
    withdrawUnless: [dc1, dc2]
---
kind: DNSRecord
name: ns
ttl: 1h
servesRegions: [r2]
answers:
  - {name: anycast, anycast: dns-anycast}
`,
	}
}

func TestAnycast(t *testing.T) {
	unreachable := []string{
		"critical anycast.no-announcement/dns-anycast",
		"critical dns.no-healthy-answer/ns/region=r2",
	}
	cases := []struct {
		name     string
		cmds     []string
		sites    []string // announcing after the change
		want     []string
		evidence []string // of the anycast finding
	}{
		{
			name:  "unchanged",
			cmds:  []string{"set site pop1 labels.x=y"},
			sites: []string{"dc1", "pop1"},
		},
		{
			name:     "every announcement withdrawn",
			cmds:     []string{"withdraw prefix dns-anycast"},
			want:     unreachable,
			evidence: []string{"site dc1: withdrawn by configuration", "site pop1: withdrawn by configuration"},
		},
		{
			name:  "one site withdrawn by name",
			cmds:  []string{"withdraw prefix dns-anycast site=dc1"},
			sites: []string{"pop1"},
		},
		{
			name:  "one site withdrawn by prefix",
			cmds:  []string{"withdraw prefix 203.0.113.0/24 site=pop1"},
			sites: []string{"dc1"},
		},
		{
			name:  "one site the pop depends on is enough",
			cmds:  []string{"shutdown site dc1"},
			sites: []string{"pop1"},
		},
		{
			name:     "withdrawUnless: every site the pop depends on down",
			cmds:     []string{"shutdown site dc1", "shutdown site dc2"},
			want:     unreachable,
			evidence: []string{"site dc1: site is not up", "site pop1: withdrawn automatically: none of dc1, dc2 is up"},
		},
		{
			name:     "a site is down when its zone is",
			cmds:     []string{"drain zone r1-a", "drain zone r1-b"},
			want:     unreachable,
			evidence: []string{"site dc1: site is not up", "site pop1: withdrawn automatically: none of dc1, dc2 is up"},
		},
		{
			name:     "the announcing device down",
			cmds:     []string{"shutdown device pop1-r1", "withdraw prefix dns-anycast site=dc1"},
			want:     unreachable,
			evidence: []string{"site dc1: withdrawn by configuration", "site pop1: device pop1-r1 is not up"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := edgeFiles()
			res := apply(t, load(t, files), c.cmds...)
			p := twin.Lookup[twin.AnycastPrefix](res.After, "dns-anycast")
			if got := capacity.AnnouncingSites(res.After, p); !reflect.DeepEqual(got, c.sites) {
				t.Errorf("AnnouncingSites = %q, want %q", got, c.sites)
			}
			fs := capacity.Check(res)
			sameLines(t, "findings", summary(fs), c.want)
			wellFormed(t, fs)
			if len(c.want) == 0 {
				return
			}
			f := find(t, fs, "anycast.no-announcement/dns-anycast")
			if f.Category != "anycast" {
				t.Errorf("category %q", f.Category)
			}
			if want := "anycast prefix dns-anycast (203.0.113.0/24) is announced from no site: it becomes unreachable"; f.Message != want {
				t.Errorf("message %q, want %q", f.Message, want)
			}
			sameLines(t, "evidence", f.Evidence.Lines, c.evidence)
			at(t, f, 0, "edge.yaml", files["edge.yaml"], "  - site: dc1")
			d := find(t, fs, "dns.no-healthy-answer/ns/region=r2")
			if want := "DNS name ns sends clients in r2 only to unhealthy answers (anycast)"; d.Message != want {
				t.Errorf("message %q, want %q", d.Message, want)
			}
			sameLines(t, "DNS evidence", d.Evidence.Lines, []string{"answer anycast: anycast dns-anycast is announced from no site"})
		})
	}
}

// ---- blast radius ---------------------------------------------------------------------

// blastFiles: api (four instances) and web (three) are tier front, batch
// (two) is tier back, all 100rps an instance. front-limit caps front
// services at 40% in total and 50% a zone and a change at 3 objects; soft
// warns above 60% of any service in a region.
func blastFiles() map[string]string {
	return map[string]string{
		"places.yaml": places,
		"services.yaml": `kind: Service
name: api
labels: {tier: front}
instanceCapacity: 100rps
---
kind: Service
name: web
labels: {tier: front}
instanceCapacity: 100rps
---
kind: Service
name: batch
labels: {tier: back}
instanceCapacity: 100rps
` + instances("api", "api-1@r1-a", "api-2@r1-b", "api-3@r2-a", "api-4@r2-a") +
			instances("web", "web-1@r1-a", "web-2@r1-b", "web-3@r2-a") +
			instances("batch", "batch-1@r1-a", "batch-2@r2-a"),
		"limits.yaml": `kind: BlastRadiusLimit
name: front-limit
services: {tier: front}
maxShareTotal: 40%
maxSharePerZone: 50%
maxObjects: 3
---
kind: BlastRadiusLimit
name: soft
severity: warning
maxSharePerRegion: 60%
`,
	}
}

func TestBlastRadius(t *testing.T) {
	cases := []struct {
		name string
		cmds []string
		want []string
	}{
		{
			name: "a zone drained: one finding per limit and scope",
			cmds: []string{"drain zone r1-a"},
			want: []string{
				"critical blast-radius.share/front-limit/zone=r1-a",
				"warning blast-radius.share/soft/region=r1",
			},
		},
		{
			name: "a whole service removed, over the object limit too",
			cmds: []string{"remove instances service=api"},
			want: []string{
				"critical blast-radius.objects/front-limit",
				"critical blast-radius.share/front-limit/total=total",
				"critical blast-radius.share/front-limit/zone=r1-a",
				"critical blast-radius.share/front-limit/zone=r1-b",
				"critical blast-radius.share/front-limit/zone=r2-a",
				"warning blast-radius.share/soft/region=r1",
				"warning blast-radius.share/soft/region=r2",
			},
		},
		{
			name: "services the limit does not select",
			cmds: []string{"remove instances service=batch"},
			want: []string{
				"warning blast-radius.share/soft/region=r1",
				"warning blast-radius.share/soft/region=r2",
			},
		},
		{
			name: "a share equal to the limit is within it",
			cmds: []string{"remove instance api-3"},
		},
		{
			name: "added capacity counts as affected",
			cmds: []string{"add instances service=web zone=r1-b count=1"},
			want: []string{"critical blast-radius.share/front-limit/zone=r1-b"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := capacity.Check(apply(t, load(t, blastFiles()), c.cmds...))
			sameLines(t, "findings", summary(fs), c.want)
			wellFormed(t, fs)
		})
	}
}

func TestBlastRadiusDetails(t *testing.T) {
	files := blastFiles()
	fs := capacity.Check(apply(t, load(t, files), "drain zone r1-a"))

	f := find(t, fs, "blast-radius.share/front-limit/zone=r1-a")
	if f.Category != "blast-radius" || f.Severity != finding.Critical {
		t.Errorf("category %q severity %q", f.Category, f.Severity)
	}
	if want := "the change affects more than 50% of the capacity of 2 service(s) in zone r1-a (limit front-limit): api, web"; f.Message != want {
		t.Errorf("message %q, want %q", f.Message, want)
	}
	sameLines(t, "evidence", f.Evidence.Lines, []string{
		"api in zone r1-a: capacity 100rps → 0rps (1 → 0 instances), 100% affected",
		"web in zone r1-a: capacity 100rps → 0rps (1 → 0 instances), 100% affected",
	})
	wantFigures := []finding.Figure{
		{Name: "limit", Value: 0.5, Unit: "ratio"},
		{Name: "api share affected", Value: 1, Unit: "ratio"},
		{Name: "web share affected", Value: 1, Unit: "ratio"},
	}
	if !reflect.DeepEqual(f.Evidence.Figures, wantFigures) {
		t.Errorf("figures %+v, want %+v", f.Evidence.Figures, wantFigures)
	}
	var objs []string
	for _, o := range f.Objects {
		objs = append(objs, o.Kind+"/"+o.Name)
	}
	sameLines(t, "objects", objs, []string{"BlastRadiusLimit/front-limit", "Service/api", "Service/web"})
	at(t, f, 0, "limits.yaml", files["limits.yaml"], "maxSharePerZone:")
	at(t, f, 1, "services.yaml", files["services.yaml"], "kind: Service\nname: api")
	at(t, f, 2, "services.yaml", files["services.yaml"], "kind: Service\nname: web")

	soft := find(t, fs, "blast-radius.share/soft/region=r1")
	if soft.Severity != finding.Warning {
		t.Errorf("soft severity %q, want warning", soft.Severity)
	}
	if want := "the change affects more than 60% of the capacity of 1 service(s) in region r1 (limit soft): batch"; soft.Message != want {
		t.Errorf("message %q, want %q", soft.Message, want)
	}
	sameLines(t, "evidence", soft.Evidence.Lines, []string{"batch in region r1: capacity 100rps → 0rps (1 → 0 instances), 100% affected"})
	at(t, soft, 0, "limits.yaml", files["limits.yaml"], "maxSharePerRegion:")

	fs = capacity.Check(apply(t, load(t, files), "remove instances service=api"))
	obj := find(t, fs, "blast-radius.objects/front-limit")
	if want := "the change touches 4 objects, above the front-limit limit of 3"; obj.Message != want {
		t.Errorf("message %q, want %q", obj.Message, want)
	}
	sameLines(t, "evidence", obj.Evidence.Lines, []string{"4 Instance removed"})
	at(t, obj, 0, "limits.yaml", files["limits.yaml"], "maxObjects:")
	total := find(t, fs, "blast-radius.share/front-limit/total=total")
	if want := "the change affects more than 40% of the capacity of 1 service(s) in total (limit front-limit): api"; total.Message != want {
		t.Errorf("message %q, want %q", total.Message, want)
	}
}
