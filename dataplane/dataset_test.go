package dataplane

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/fibdump"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/internal/datasets"
)

// TestPublishedFigures reproduces the datasets' reference figures:
// forwarding-only equivalence classes and loops.
func TestPublishedFigures(t *testing.T) {
	dir := datasets.Dir(t)
	load := func(name string, raw bool) *fwd.Network {
		path := filepath.Join(dir, name)
		var n *fwd.Network
		var err error
		if raw {
			n, err = fibdump.LoadInternet2(path, false)
		} else {
			n, _, err = fibdump.Load(path)
		}
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	cases := []struct {
		name           string
		dir            string
		raw            bool
		forwardingOnly bool
		classes, loops int
		loopVia        string
	}{
		{"internet2", "internet2", false, true, 216, 2, "chic[ae0]"},
		{"internet2 raw ports", "internet2", true, true, 407, -1, ""},
		{"stanford", "stanford", false, true, 494, 20, "bbra_rtr"},
		{"stanford without ACL files", "stanford/stanford-noacl", false, false, 494, 20, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Build(load(c.dir, c.raw), Options{ForwardingOnly: c.forwardingOnly})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Atoms) != c.classes {
				t.Errorf("%d equivalence classes, want %d", len(m.Atoms), c.classes)
			}
			if c.loops < 0 {
				return
			}
			loops, _ := m.Loops()
			if len(loops) != c.loops {
				t.Errorf("%d loops, want %d", len(loops), c.loops)
			}
			found := c.loopVia == ""
			for _, l := range loops {
				found = found || strings.Contains(strings.Join(l.Cycle, " "), c.loopVia)
			}
			if !found {
				t.Errorf("no loop through %s: %v", c.loopVia, loops)
			}
		})
	}
}

// TestStanfordWithACLs pins the classes with ACLs: the forwarding and ACL
// partitions on their own are APKeep's 494 + 21 = 515 atoms; packets that
// behave alike at every forwarding table and every ACL number 5,996.
func TestStanfordWithACLs(t *testing.T) {
	n, _, err := fibdump.Load(filepath.Join(datasets.Dir(t), "stanford"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(n, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Summarize()
	if s.ForwardingClasses != 494 || s.ACLClasses != 21 || s.EquivalenceClasses != 5996 {
		t.Errorf("forwarding %d, ACL %d, joint %d; want 494, 21, 5996", s.ForwardingClasses, s.ACLClasses, s.EquivalenceClasses)
	}
}
