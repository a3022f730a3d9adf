package sim

import (
	"slices"

	"github.com/preflight-sh/preflight/twin"
)

// poisoning is a bad artifact a change in force ships: the consumer's
// pools in each wave's regions crash-loop from the wave's start.
type poisoning struct {
	artifact string
	svc      int
	waves    []wave
}

// wave is when an artifact reaches which regions (nil: every region).
type wave struct {
	from    int
	regions map[int]bool
}

// poisonings lists the bad artifacts of the changes in force, with when
// they reach their consumers: all at once, or wave by wave after each
// wave's bake time, as the artifact's propagation says.
func (m *sim) poisonings() []poisoning {
	var out []poisoning
	for _, a := range m.applied {
		for _, f := range a.cs.Artifacts {
			if !slices.Contains(m.o.BadArtifacts, f.Name) {
				continue
			}
			art := twin.Lookup[twin.Artifact](m.w.snap, f.Name)
			if art == nil {
				continue
			}
			svc := -1
			for i, sv := range m.w.services {
				if sv.name == art.Consumer {
					svc = i
				}
			}
			if svc < 0 {
				continue
			}
			p := poisoning{artifact: f.Name, svc: svc}
			prop := twin.Lookup[twin.Propagation](m.w.snap, art.Propagation)
			if prop == nil || prop.Mode != "waves" || len(prop.Waves) == 0 {
				p.waves = []wave{{from: a.at}}
			} else {
				at := a.at
				for _, wv := range prop.Waves {
					regions := map[int]bool{}
					for _, r := range wv.Regions {
						if i := slices.Index(m.w.regions, r); i >= 0 {
							regions[i] = true
						}
					}
					p.waves = append(p.waves, wave{from: at, regions: regions})
					at += int(wv.Bake.Std().Seconds() / m.tick)
				}
			}
			out = append(out, p)
		}
	}
	return out
}

// poisoned says which bad artifact, if any, pool pi has loaded by tick t.
func (m *sim) poisoned(pi, t int) string {
	p := m.w.pools[pi]
	for _, ps := range m.poison {
		if ps.svc != p.svc {
			continue
		}
		for _, w := range ps.waves {
			if t >= w.from && (w.regions == nil || w.regions[p.region]) {
				return ps.artifact
			}
		}
	}
	return ""
}
