package dataplane

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/gen"
	"github.com/preflight-sh/preflight/routing"
	"github.com/preflight-sh/preflight/tracer"
	"github.com/preflight-sh/preflight/twin"
)

// summarisePaths summarises a walk's paths as netdiff does.
func summarisePaths(paths []tracer.Path) (AtomSummary, tracer.Path) {
	fates, via := map[string]bool{}, map[string]bool{}
	var s AtomSummary
	var rep tracer.Path
	for i, p := range paths {
		last := p.Hops[len(p.Hops)-1]
		where := last.Device
		if p.Fate == tracer.Exited {
			where += " " + last.OutPort
		}
		fates[string(p.Fate)+"@"+where] = true
		s.Delivered = s.Delivered || p.Fate == tracer.Delivered
		if !p.Fate.Dropped() {
			s.OK = true
			for _, h := range p.Hops {
				via[h.Device] = true
			}
		}
		s.Loop = s.Loop || p.Fate == tracer.Loop
		if i == 0 || (p.Fate.Dropped() && !rep.Fate.Dropped()) {
			rep = p
		}
	}
	keys := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	s.Fates, s.Via = keys(fates), keys(via)
	return s, rep
}

// TestOutcomeWalkerAgainstWalk checks an OutcomeWalker, reused from class
// to class, against summaries of walks, for every class from every device
// of thousands of random networks: equal wherever the walks find no loop,
// and both loop where they do; and against a new walker for each class.
func TestOutcomeWalkerAgainstWalk(t *testing.T) {
	loops := 0
	for seed := range uint64(2000) {
		r := rand.New(rand.NewPCG(seed, 7))
		n := randomNetwork(r)
		m, err := Build(n, Options{ForwardingOnly: seed%4 == 3})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		w := m.NewOutcomeWalker()
		for atom := range m.Atoms {
			w.Follow(atom)
			again := m.NewOutcomeWalker()
			again.Follow(atom)
			for d, dev := range m.Devices {
				got := w.Summary(d)
				if !equalSummary(got, again.Summary(d)) || got.Rep != again.Summary(d).Rep || !w.Same(d, again, d) {
					t.Fatalf("seed %d, class %d from %s: not deterministic", seed, atom, dev)
				}
				paths, err := m.Walk(atom, dev)
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				want, rep := summarisePaths(paths)
				if want.Loop {
					loops++
					if !got.Loop {
						t.Fatalf("seed %d, class %d from %s: walks loop, the walker does not\n%s\ngot %+v", seed, atom, dev, render(paths), got)
					}
					continue
				}
				if !equalSummary(got, want) {
					t.Fatalf("seed %d, class %d from %s:\ngot  %+v\nwant %+v\n%s", seed, atom, dev, got, want, render(paths))
				}
				if len(paths) > 0 && !got.Rep.Matches(rep) {
					t.Fatalf("seed %d, class %d from %s: representative %+v, walk shows %s", seed, atom, dev, got.Rep, rep)
				}
			}
		}
	}
	t.Logf("%d looping starts", loops)
}

func equalSummary(a, b AtomSummary) bool {
	return slices.Equal(a.Fates, b.Fates) && slices.Equal(a.Via, b.Via) && a.OK == b.OK && a.Delivered == b.Delivered && a.Loop == b.Loop
}

func generatedModel(b *testing.B) *Model {
	files, err := gen.Generate(gen.Options{Routers: 200, Regions: 3, ZonesPerRegion: 3, Services: 50, Instances: 1000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	s, err := twin.LoadFiles(files)
	if err != nil {
		b.Fatal(err)
	}
	m, err := Build(routing.Build(s).Network, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkAllOutcomes computes every class's outcome from every device
// of a generated 200-router twin.
func BenchmarkAllOutcomes(b *testing.B) {
	m := generatedModel(b)
	b.ResetTimer()
	for b.Loop() {
		w := m.NewOutcomeWalker()
		for atom := range m.Atoms {
			w.Follow(atom)
		}
	}
	b.ReportMetric(float64(len(m.Atoms)), "classes")
	b.ReportMetric(float64(len(m.Devices)), "devices")
}

// BenchmarkWalkEveryDevice does the same by walking every class from
// every device (what OutcomeWalker replaces); one pass, timed and reported.
func BenchmarkWalkEveryDevice(b *testing.B) {
	m := generatedModel(b)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		for atom := range m.Atoms {
			for _, d := range m.Devices {
				paths, _ := m.Walk(atom, d)
				summarisePaths(paths)
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/pass")
	}
}
