package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

func TestErlangC(t *testing.T) {
	cases := []struct {
		c    int
		a    float64
		want float64
	}{
		{1, 0.5, 0.5},    // M/M/1: P(wait) = ρ
		{2, 1, 1.0 / 3},  // textbook value
		{3, 2, 4.0 / 9},  // C(3, 2) = 0.4444
		{10, 8, 0.40918}, // tables: 0.4092
		{5, 0, 0},        // no load
		{4, 4, 1},        // saturated
	}
	for _, c := range cases {
		if got := ErlangC(c.c, c.a); math.Abs(got-c.want) > 1e-4 {
			t.Errorf("ErlangC(%d, %g) = %g, want %g", c.c, c.a, got, c.want)
		}
	}
}

func TestMeanWaitAgainstUtilisation(t *testing.T) {
	// M/M/1 with service time 1: W = ρ/(1−ρ).
	for _, rho := range []float64{0.1, 0.5, 0.8, 0.9, 0.99} {
		want := rho / (1 - rho)
		if got := MeanWait(1, rho, 1); math.Abs(got-want) > 1e-9*want+1e-12 {
			t.Errorf("M/M/1 wait at ρ=%g: got %g, want %g", rho, got, want)
		}
	}
	// M/M/c waits grow with utilisation and explode near 1; more servers
	// at the same utilisation wait less.
	prev := -1.0
	for _, rho := range []float64{0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99} {
		w := MeanWait(8, rho*8/0.02, 0.02)
		if w <= prev {
			t.Errorf("wait at ρ=%g is %g, not above %g", rho, w, prev)
		}
		prev = w
		if w8, w1 := MeanWait(8, rho*8, 1), MeanWait(1, rho, 1); w8 >= w1 {
			t.Errorf("at ρ=%g 8 servers wait %g, not less than 1 server's %g", rho, w8, w1)
		}
	}
	if !math.IsInf(MeanWait(2, 2, 1), 1) {
		t.Error("a saturated queue must wait forever")
	}
	// The p99 of an M/M/1 wait: ln(ρ/0.01)/(μ−λ).
	if got, want := WaitQuantile(1, 0.5, 1, 0.99), math.Log(0.5/0.01)/0.5; math.Abs(got-want) > 1e-9 {
		t.Errorf("p99 wait %g, want %g", got, want)
	}
}

func TestRetryAmplificationFormula(t *testing.T) {
	for _, c := range []struct {
		p    float64
		r    int
		want float64
	}{{0, 3, 1}, {0.5, 1, 1.5}, {0.5, 2, 1.75}, {0.1, 3, 1.111}, {1, 3, 4}} {
		if got := RetryAmplification(c.p, c.r); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("RetryAmplification(%g, %d) = %g, want %g", c.p, c.r, got, c.want)
		}
	}
}

// twinYAML builds a one-region twin: service web with instances in two
// zones behind load balancer lb, entered through DNS record www.
type twinSpec struct {
	perZone      int
	capacity     string // per instance
	demand       string
	client       string // client retry policy, YAML flow mapping
	panic        string
	crash        string
	latency      string
	dnsTTL       string
	extra        string // more documents
	recordPolicy string
	answers      string
}

func (s twinSpec) files() map[string][]byte {
	var b strings.Builder
	b.WriteString("kind: Region\nname: r1\n---\nkind: Zone\nname: z1\nregion: r1\n---\nkind: Zone\nname: z2\nregion: r1\n---\n")
	fmt.Fprintf(&b, "kind: Service\nname: web\ninstanceCapacity: %s\n", s.capacity)
	if s.crash != "" {
		fmt.Fprintf(&b, "crash: %s\n", s.crash)
	}
	if s.latency != "" {
		fmt.Fprintf(&b, "latency: %s\n", s.latency)
	}
	for _, z := range []string{"z1", "z2"} {
		for i := range s.perZone {
			fmt.Fprintf(&b, "---\n{kind: Instance, name: web-%s-%d, service: web, zone: %s}\n", z, i, z)
		}
	}
	panic := ""
	if s.panic != "" {
		panic = "panicThreshold: " + s.panic + "\n"
	}
	fmt.Fprintf(&b, "---\nkind: LoadBalancer\nname: lb\nregion: r1\ncrossZone: true\n%shealthCheck: {interval: 5s, timeout: 2s, healthyThreshold: 2, unhealthyThreshold: 2}\ntargets:\n  - {name: z1, service: web, zone: z1}\n  - {name: z2, service: web, zone: z2}\n", panic)
	ttl, policy, answers := s.dnsTTL, s.recordPolicy, s.answers
	if ttl == "" {
		ttl = "60s"
	}
	if policy == "" {
		policy = "simple"
	}
	if answers == "" {
		answers = "  - {name: a, loadBalancer: lb}\n"
	}
	fmt.Fprintf(&b, "---\nkind: DNSRecord\nname: www\nttl: %s\npolicy: %s\nhealthCheck: {interval: 10s, unhealthyThreshold: 3, healthyThreshold: 2}\nanswers:\n%s", ttl, policy, answers)
	fmt.Fprintf(&b, "---\nkind: Demand\nname: users\ndns: www\norigins: [{region: r1, peak: %s}]\n", s.demand)
	if s.client != "" {
		fmt.Fprintf(&b, "client: %s\n", s.client)
	}
	b.WriteString(s.extra)
	return map[string][]byte{"twin.yaml": []byte(b.String())}
}

func load(t testing.TB, s twinSpec) *twin.Snapshot {
	t.Helper()
	snap, err := twin.LoadFiles(s.files())
	if err != nil {
		t.Fatalf("%v\n%s", err, s.files()["twin.yaml"])
	}
	return snap
}

func command(t testing.TB, name, text string, at time.Duration, ends bool) Event {
	t.Helper()
	ops, err := change.Compile(text)
	if err != nil {
		t.Fatal(err)
	}
	return Event{At: at, Name: name, Label: text, Change: &change.ChangeSet{Title: text, Operations: ops}, Ends: ends}
}

func TestHealthyTwinServesEverything(t *testing.T) {
	s := load(t, twinSpec{perZone: 5, capacity: "100rps", demand: "500rps"})
	r, err := Run(s, Options{Duration: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e := r.Entries[0]
	if a := e.TotalSucceeded / e.TotalAttempts; a < 0.9999 {
		t.Fatalf("availability %g of a twin at half load", a)
	}
	if r.Computed >= 600/2 {
		t.Errorf("a steady run computed %d of 600 ticks: it should carry a steady state forward", r.Computed)
	}
	if got := findComponent(r, "service", "web").Peak; math.Abs(got-0.5) > 1e-9 {
		t.Errorf("utilisation %g, want 0.5", got)
	}
}

func TestRetryAmplificationInSimulation(t *testing.T) {
	// Half the instances are down but the load balancer panics (threshold
	// 100%) and keeps sending them half the traffic: each attempt fails
	// with p = 0.5, and clients retry twice.
	s := load(t, twinSpec{perZone: 5, capacity: "1000rps", demand: "100rps", panic: "100%", client: "{retries: 2, backoff: 1s, timeout: 5s}"})
	down := command(t, "z2 down", "shutdown zone z2", 0, false)
	r, err := Run(s, Options{Duration: 5 * time.Minute, Events: []Event{down}})
	if err != nil {
		t.Fatal(err)
	}
	e := r.Entries[0]
	last := len(e.Attempts) - 1
	got := e.Attempts[last] / e.Offered[last]
	if want := RetryAmplification(0.5, 2); math.Abs(got-want) > 1e-6 {
		t.Fatalf("attempts per request %g, want %g (1 + p + p²)", got, want)
	}
	if succ := e.Success[last]; math.Abs(succ-0.5) > 1e-6 {
		t.Errorf("success per attempt %g, want 0.5", succ)
	}
}

func TestDNSFailoverTakesDetectionPlusTTL(t *testing.T) {
	spec := twinSpec{perZone: 3, capacity: "1000rps", demand: "1krps", dnsTTL: "60s", recordPolicy: "failover",
		answers: "  - {name: primary, loadBalancer: lb, failover: primary, healthChecked: true}\n  - {name: secondary, loadBalancer: lb2, failover: secondary, healthChecked: true}\n",
		extra: "---\nkind: Service\nname: standby\ninstanceCapacity: 1000rps\n---\n{kind: Instance, name: sb-1, service: standby, zone: z1}\n---\n{kind: Instance, name: sb-2, service: standby, zone: z2}\n" +
			"---\nkind: LoadBalancer\nname: lb2\nregion: r1\ncrossZone: true\ntargets:\n  - {name: all, service: standby}\n"}
	s := load(t, spec)
	fail := time.Duration(120) * time.Second
	events := []Event{command(t, "primary down", "remove instances service=web", fail, false)}
	r, err := Run(s, Options{Duration: 8 * time.Minute, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	detected := time.Duration(-1)
	for _, l := range r.Log {
		if l.What == "unhealthy" && strings.HasPrefix(l.Subject, "www → primary") {
			detected = l.At.Std()
			break
		}
	}
	if detected < 0 {
		t.Fatalf("the DNS health check never saw the primary fail; log: %+v", r.Log)
	}
	// Three failed probes 10 s apart: detection 20 s to 30 s after the failure.
	if d := detected - fail; d < 20*time.Second || d > 30*time.Second {
		t.Errorf("detected %v after the failure, want 20s to 30s (3 probes 10s apart)", d)
	}
	e := r.Entries[0]
	at := func(d time.Duration) float64 { return e.success[int(d/time.Second)] }
	ttl := 60 * time.Second
	if v := at(detected + ttl - 10*time.Second); v > 0.9 {
		t.Errorf("10s before detection+TTL, success %g: clients with cached answers should still fail", v)
	}
	if v := at(detected + ttl + time.Second); v < 0.9999 {
		t.Errorf("just after detection+TTL, success %g: every client should have failed over", v)
	}
	// Halfway through the TTL, half the clients have re-resolved.
	if v := at(detected + ttl/2); math.Abs(v-0.5) > 0.05 {
		t.Errorf("halfway through the TTL, success %g, want about 0.5", v)
	}
}

func TestConservationEveryTick(t *testing.T) {
	s := load(t, twinSpec{perZone: 4, capacity: "100rps", demand: "700rps", crash: "{overload: 30s, restart: 20s, warmup: 30s}", client: "{retries: 2, backoff: 500ms, timeout: 2s}"})
	events := []Event{command(t, "z1 down", "shutdown zone z1", time.Minute, false), command(t, "z1 back", "restore zone z1", 6*time.Minute, true)}
	r, err := Run(s, Options{Duration: 15 * time.Minute, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	if r.Imbalance > 1e-9 {
		t.Errorf("queue bookkeeping lost %g of requests in a tick", r.Imbalance)
	}
	e := r.Entries[0]
	if sum := e.TotalSucceeded + e.TotalFailed + e.TotalShed; math.Abs(sum-e.TotalAttempts) > 1e-6*e.TotalAttempts {
		t.Errorf("succeeded + failed + shed = %g, attempts %g", sum, e.TotalAttempts)
	}
	crashed := false
	for _, l := range r.Log {
		crashed = crashed || l.What == "crashed"
	}
	if !crashed {
		t.Errorf("the surviving zone at 175%% load never crashed; log: %v", r.Log)
	}
}

// stormTwin is a service at 80% load whose clients time out after 1 s and
// retry three times, with a queue that holds 10 s of work.
func stormTwin(t *testing.T, budget string) *twin.Snapshot {
	client := "{retries: 3, backoff: 100ms, timeout: 1s"
	if budget != "" {
		client += ", retryBudget: " + budget
	}
	return load(t, twinSpec{perZone: 5, capacity: "100rps", demand: "800rps", client: client + "}"})
}

func TestRetryStormIsMetastable(t *testing.T) {
	surge := Event{At: 5 * time.Minute, Name: "surge", Label: "demand ×2 for 2m", DemandFactor: 2, For: 2 * time.Minute}
	o := Options{Duration: 40 * time.Minute, Events: []Event{surge}}
	r, err := Run(stormTwin(t, ""), o)
	if err != nil {
		t.Fatal(err)
	}
	fs := Findings(stormTwin(t, ""), r, nil, o)
	if !hasFinding(fs, "simulation.metastable.users@r1") {
		t.Fatalf("no metastable finding without a retry budget: %v", ids(fs))
	}
	e := r.Entries[0]
	if v := e.success[len(e.success)-1]; v > 0.5 {
		t.Errorf("at the end, 33 minutes after the surge, success is %g: the storm should persist", v)
	}
	// The same storm with a retry budget of 10% recovers.
	r2, err := Run(stormTwin(t, "10%"), o)
	if err != nil {
		t.Fatal(err)
	}
	fs2 := Findings(stormTwin(t, "10%"), r2, nil, o)
	if hasFinding(fs2, "simulation.metastable.users@r1") {
		t.Fatalf("metastable even with a retry budget: %v", ids(fs2))
	}
	if !hasFinding(fs2, "simulation.recovery.users@r1") {
		t.Errorf("no recovery finding: %v", ids(fs2))
	}
	if v := r2.Entries[0].success[len(e.success)-1]; v < 0.999 {
		t.Errorf("with a retry budget, success at the end is %g", v)
	}
}

func TestSameSeedSameOutput(t *testing.T) {
	s := load(t, twinSpec{perZone: 4, capacity: "100rps", demand: "700rps", crash: "{overload: 30s, restart: 20s}", client: "{retries: 2, backoff: 500ms, jitter: 50%}"})
	events := []Event{command(t, "z1 down", "shutdown zone z1", time.Minute, false)}
	out := func(seed int64) []byte {
		r, err := Run(s, Options{Duration: 10 * time.Minute, Events: events, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(r); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := out(7), out(7)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave different output")
	}
	if bytes.Equal(a, out(8)) {
		t.Error("a different seed gave the same health-check phases: the seed has no effect")
	}
}

func TestRollbackRecovers(t *testing.T) {
	s := load(t, twinSpec{perZone: 5, capacity: "100rps", demand: "600rps"})
	events := []Event{
		command(t, "cut", "remove instances service=web zone=z1", 2*time.Minute, false),
		{At: 6 * time.Minute, Name: "undo", Label: "roll back cut", Rollback: "cut", Ends: true},
	}
	o := Options{Duration: 20 * time.Minute, Events: events}
	r, err := Run(s, o)
	if err != nil {
		t.Fatal(err)
	}
	e := r.Entries[0]
	if v := e.success[3*60]; v > 0.95 {
		t.Errorf("with half the capacity gone at 120%% load, success %g", v)
	}
	if v := e.success[19*60]; v < 0.9999 {
		t.Errorf("after the rollback, success %g", v)
	}
	fs := Findings(s, r, nil, o)
	if !hasFinding(fs, "simulation.recovery.users@r1") || !hasFinding(fs, "simulation.overload.web/z2") {
		t.Errorf("findings %v", ids(fs))
	}
}

func TestBadOptions(t *testing.T) {
	s := load(t, twinSpec{perZone: 1, capacity: "100rps", demand: "10rps"})
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Tick: time.Hour}, "tick"},
		{Options{Duration: 8 * 24 * time.Hour}, "7 days"},
		{Options{Start: 25 * time.Hour}, "time of day"},
		{Options{Duration: time.Minute, Events: []Event{{At: 2 * time.Minute, Name: "late", DemandFactor: 2}}}, "outside the run"},
		{Options{Events: []Event{{Name: "undo", Rollback: "nothing"}}}, "not applied"},
		{Options{Events: []Event{{Name: "s", DemandFactor: 2, Demand: "nobody"}}}, "no demand"},
	} {
		_, err := Run(s, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", c.o, err, c.want)
		}
	}
}

func findComponent(r *Result, kind, name string) ComponentSeries {
	for _, c := range r.Components {
		if c.Kind == kind && c.Name == name {
			return c
		}
	}
	return ComponentSeries{}
}

func hasFinding(fs []finding.Finding, id string) bool {
	for _, f := range fs {
		if f.ID == id {
			return true
		}
	}
	return false
}

func ids(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Severity)+" "+f.ID)
	}
	return out
}

func TestCongestedLinkDropsTraffic(t *testing.T) {
	// Clients enter at the point of presence; the only link to the data
	// centre carries 1Gbps, and 200 requests/s of 1MiB need 1.68Gbps.
	net := `---
kind: Site
name: pop
type: pop
region: r1
---
kind: Site
name: dc1
type: datacenter
region: r1
zone: z1
---
kind: Site
name: dc2
type: datacenter
region: r1
zone: z2
---
kind: Device
name: edge
site: pop
interfaces:
  - {name: e1, addresses: [10.0.0.0/31]}
  - {name: e2, addresses: [10.0.0.2/31]}
---
kind: Device
name: spine1
site: dc1
interfaces:
  - {name: e1, addresses: [10.0.0.1/31]}
---
kind: Device
name: spine2
site: dc2
interfaces:
  - {name: e1, addresses: [10.0.0.3/31]}
---
kind: Link
name: edge--spine1
a: "edge:e1"
b: "spine1:e1"
capacity: 1Gbps
---
kind: Link
name: edge--spine2
a: "edge:e2"
b: "spine2:e1"
capacity: 100Gbps
`
	spec := twinSpec{perZone: 5, capacity: "100rps", demand: "400rps", extra: net}
	files := spec.files()
	files["twin.yaml"] = []byte(strings.Replace(string(files["twin.yaml"]), "instanceCapacity: 100rps\n", "instanceCapacity: 100rps\nbytesPerRequest: 1MiB\n", 1))
	s, err := twin.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Duration: 5 * time.Minute}
	r, err := Run(s, o)
	if err != nil {
		t.Fatal(err)
	}
	link := findComponent(r, "link", "edge--spine1")
	if link.Peak < 1.5 {
		t.Fatalf("the 1Gbps link peaks at %g of its capacity, want about 1.68", link.Peak)
	}
	fs := Findings(s, r, nil, o)
	if !hasFinding(fs, "simulation.congestion.link/edge--spine1") || hasFinding(fs, "simulation.congestion.link/edge--spine2") {
		t.Errorf("findings %v", ids(fs))
	}
	t.Logf("link peak %.2f, availability %.4f", link.Peak, r.Entries[0].TotalSucceeded/r.Entries[0].TotalAttempts)
	if e := r.Entries[0]; e.TotalSucceeded/e.TotalAttempts > 0.95 {
		t.Errorf("availability %g with a congested path for half the traffic", e.TotalSucceeded/e.TotalAttempts)
	}
}

func TestPerInstanceCallsGrowWithInstances(t *testing.T) {
	// Every web instance polls db 5 times a second, whatever its load, on
	// top of one call per request (10 requests/s): scaling web from 10 to
	// 40 instances takes db from 60 to 210 calls/s.
	extra := "---\nkind: Service\nname: db\ninstanceCapacity: 500rps\n---\n{kind: Instance, name: db-1, service: db, zone: z1}\n"
	spec := twinSpec{perZone: 5, capacity: "100rps", demand: "10rps", extra: extra}
	files := spec.files()
	files["twin.yaml"] = []byte(strings.Replace(string(files["twin.yaml"]), "instanceCapacity: 100rps\n", "instanceCapacity: 100rps\ndependencies:\n  - {service: db, perInstance: 5rps}\n", 1))
	s, err := twin.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	scale := command(t, "scale", "add instances service=web zone=z1 count=30", time.Minute, false)
	r, err := Run(s, Options{Duration: 3 * time.Minute, Events: []Event{scale}})
	if err != nil {
		t.Fatal(err)
	}
	db := findComponent(r, "service", "db").Utilisation
	if before, after := db[10], db[len(db)-1]; math.Abs(before-60.0/500) > 1e-9 || math.Abs(after-210.0/500) > 1e-9 {
		t.Errorf("db utilisation %g before, %g after; want 0.12 and 0.42", before, after)
	}
}

func TestBadArtifactCrashLoopsItsConsumerWaveByWave(t *testing.T) {
	extra := `---
kind: Region
name: r2
---
kind: Zone
name: y1
region: r2
---
{kind: Instance, name: web-y1-0, service: web, zone: y1}
---
{kind: Instance, name: web-y1-1, service: web, zone: y1}
---
kind: Artifact
name: rules
consumer: web
propagation: staged
---
kind: Propagation
name: staged
mode: waves
waves: [{name: first, regions: [r2], bake: 5m}, {name: rest, regions: [r1]}]
`
	s := load(t, twinSpec{perZone: 2, capacity: "100rps", demand: "100rps", extra: extra})
	ops, err := change.Compile("set artifact rules labels.version=2")
	if err != nil {
		t.Fatal(err)
	}
	cs := &change.ChangeSet{Title: "ship rules v2", Operations: ops, Artifacts: []change.ArtifactFile{{Name: "rules", File: "rules.txt"}}}
	o := Options{Duration: 12 * time.Minute, BadArtifacts: []string{"rules"}, Events: []Event{
		{At: time.Minute, Name: "ship", Label: "ship rules v2", Change: cs},
		{At: 9 * time.Minute, Name: "undo", Label: "roll back", Rollback: "ship", Ends: true},
	}}
	r, err := Run(s, o)
	if err != nil {
		t.Fatal(err)
	}
	crashed := map[string]string{}
	for _, l := range r.Log {
		if l.What == "crashed" {
			crashed[l.Subject] = l.At.String()
		}
	}
	// The first wave (r2) crashes at once; r1 only after the 5m bake.
	if crashed["web/y1"] != "1m" || crashed["web/z1"] != "6m" || crashed["web/z2"] != "6m" {
		t.Fatalf("crashes %v; log %v", crashed, r.Log)
	}
	e := r.Entries[0]
	if v := e.success[8*60]; v > 0.01 {
		t.Errorf("with every pool crash-looping, success %g", v)
	}
	if v := e.success[11*60]; v < 0.99 {
		t.Errorf("after the rollback, success %g", v)
	}
}

func TestEmptiedRecordFailsAsCachesExpire(t *testing.T) {
	// The record loses its only answer at 2m: clients still holding it
	// keep reaching the load balancer until their TTL (60s) runs out.
	s := load(t, twinSpec{perZone: 3, capacity: "100rps", demand: "300rps", dnsTTL: "60s"})
	cs, err := change.ParseFile("empty.yaml", []byte("title: empty the record\noperations:\n  - {op: remove, kind: DNSRecord, name: www, path: \"answers[*]\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(s, Options{Duration: 5 * time.Minute, Events: []Event{{At: 2 * time.Minute, Name: "empty", Change: cs}}})
	if err != nil {
		t.Fatal(err)
	}
	e := r.Entries[0]
	at := func(d time.Duration) float64 { return e.success[int(d/time.Second)] }
	if v := at(2*time.Minute + 30*time.Second); math.Abs(v-0.5) > 0.05 {
		t.Errorf("halfway through the TTL, success %g, want about 0.5", v)
	}
	if v := at(3*time.Minute + 5*time.Second); v > 0.01 {
		t.Errorf("after the TTL, success %g: no client holds an answer", v)
	}
}
