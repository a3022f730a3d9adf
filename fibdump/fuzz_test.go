package fibdump

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/fwd"
)

// readSeed returns a testdata file for the seed corpus.
func readSeed(f *testing.F, path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// checkErr fails unless err is a *ParseError for file name at a line
// (line 0 allowed when wholeFile), whose text starts with "name:".
func checkErr(t *testing.T, err error, name string, wholeFile bool) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error is not a *ParseError: %v", err)
	}
	if pe.File != name || (pe.Line < 1 && !wholeFile) || !strings.HasPrefix(err.Error(), name+":") {
		t.Fatalf("error without its file and line: %v", err)
	}
}

func FuzzStanfordUpdates(f *testing.F) {
	f.Add(readSeed(f, "testdata/stanford/updates"))
	for _, s := range []string{
		"+ fwd bbra_rtr 0 8 self 8\n",
		"- fwd r 4294967295 32 vlan10 -5\r\n",
		"+ acl cozb_rtr_outACL access-list outACL deny 17 17 any null null null any null 8998 8998 65535\n",
		"+ acl yozb_rtr_178 access-list 178 permit 6 6 171.64.70.0 0.0.0.255 null null 171.64.78.52 null 500 null 65520\n",
		"+ acl r_a access-list a permit any any 1.2.3.4 any 5 any any null null null\n",
		"+ nat r x\n\n\n+\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ups, err := ParseStanfordUpdates(bytes.NewReader(data), "updates")
		if err != nil {
			checkErr(t, err, "updates", false)
			return
		}
		n := &fwd.Network{}
		line := 0
		for _, u := range ups {
			if u.Line <= line {
				t.Fatalf("line %d after line %d", u.Line, line)
			}
			line = u.Line
			switch {
			case u.Rule != nil && u.ACLRule == nil:
				r := u.Rule
				if r.Seq != u.Line || !r.Prefix.IsValid() || r.Prefix != r.Prefix.Masked() || (r.Action == fwd.Forward) != (len(r.Ports) == 1) {
					t.Fatalf("line %d: bad rule %+v", u.Line, r)
				}
			case u.ACLRule != nil && u.Rule == nil:
				r := u.ACLRule
				for _, rg := range []fwd.Range{r.Proto, r.SrcPort, r.DstPort} {
					if rg.Lo < 0 || rg.Lo > rg.Hi || rg.Hi > 65535 {
						t.Fatalf("line %d: bad range %+v", u.Line, rg)
					}
				}
				if r.Proto.Hi > 255 || u.ACL == "" || u.Device == "" {
					t.Fatalf("line %d: bad ACL rule %+v", u.Line, u)
				}
			default:
				t.Fatalf("line %d: update with %v and %v", u.Line, u.Rule, u.ACLRule)
			}
			_ = ApplyUpdate(n, u) // must not panic
		}
	})
}

func FuzzStanfordTopo(f *testing.F) {
	f.Add(readSeed(f, "testdata/stanford/topo.txt"))
	f.Add([]byte("bbra_rtr te1/3 bozb_rtr te3/1\ncoza_rtr_inACL_te2/1_in permit coza_rtr te2/1\n"))
	f.Add([]byte("a b c\r\n\n a  b\tc d \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		edges, err := ParseTopo(bytes.NewReader(data), "topo.txt")
		if err != nil {
			checkErr(t, err, "topo.txt", false)
			return
		}
		for _, e := range edges {
			if e.Line < 1 || e.From.Device == "" || e.From.Port == "" || e.To.Device == "" || e.To.Port == "" {
				t.Fatalf("bad edge %+v", e)
			}
		}
	})
}

func FuzzVLAN(f *testing.F) {
	f.Add(readSeed(f, "testdata/stanford/vlan.txt"))
	f.Add([]byte("pozb_rtr vlan645 te2/3 te3/4 te3/3\nr v p p\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		vlans, err := ParseVLANs(bytes.NewReader(data), "vlan.txt")
		if err != nil {
			checkErr(t, err, "vlan.txt", false)
			return
		}
		for _, v := range vlans {
			if v.Line < 1 || v.Device == "" || v.Name == "" || len(v.Ports) == 0 {
				t.Fatalf("bad VLAN %+v", v)
			}
		}
	})
}

func FuzzInternet2FIB(f *testing.F) {
	f.Add(readSeed(f, "testdata/internet2/aapnotcomp"), true)
	f.Add(readSeed(f, "testdata/internet2/bapnotcomp"), false)
	f.Add([]byte("fw 1077483775 32 ge-7/0/0.10\nfw 1077483775 32 ge-7/1/0.10\n"), true)
	f.Add([]byte("fw 0 0 .\nfw 0 0 x.\nfw 0 0 a.0.0\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, normalise bool) {
		rules, err := ParseInternet2FIB(bytes.NewReader(data), "xapnotcomp", normalise)
		if err != nil {
			checkErr(t, err, "xapnotcomp", false)
			return
		}
		other, err := ParseInternet2FIB(bytes.NewReader(data), "xapnotcomp", !normalise)
		if err != nil || len(other) != len(rules) {
			t.Fatalf("normalise %v: %d rules, %v", !normalise, len(other), err)
		}
		for i, r := range rules {
			if r.Priority != r.Prefix.Bits() || r.Seq < 1 || len(r.Ports) != 1 || r.Ports[0] == "" {
				t.Fatalf("bad rule %+v", r)
			}
			raw, norm := r.Ports[0], other[i].Ports[0]
			if normalise {
				raw, norm = norm, raw
			}
			if physicalPort(raw) != norm {
				t.Fatalf("port %q normalised to %q", raw, norm)
			}
		}
	})
}

// FuzzStanfordNetwork builds networks from a topology, VLANs and updates,
// which exercises the ACL node collapse.
func FuzzStanfordNetwork(f *testing.F) {
	f.Add(readSeed(f, "testdata/stanford/topo.txt"), readSeed(f, "testdata/stanford/vlan.txt"), readSeed(f, "testdata/stanford/updates"))
	f.Add([]byte("r p r_a_p_out inport\nr_a_p_out permit r_b_q_in inport\nr_b_q_in permit r q\n"), []byte(""),
		[]byte("+ acl r_a access-list a permit 0 255 any null null null any null null null 1\n+ acl r_b access-list b deny 0 255 any null null null any null null null 1\n"))
	f.Add([]byte("r p r_a_p_out inport\nr_a_p_out permit s_a_p_in inport\ns_a_p_in permit s p\ns p r q\n"), []byte("r vlan1 p q\n"),
		[]byte("+ acl r_a access-list a permit 0 255 any null null null any null null null 1\n+ acl s_a access-list a permit 0 255 any null null null any null null null 1\n+ fwd r 0 0 vlan1 0\n- fwd r 0 0 vlan1 0\n"))
	f.Fuzz(func(t *testing.T, topo, vlan, updates []byte) {
		var src stanfordSource
		var err error
		src.topoFile, src.vlanFile, src.updatesFile = "topo.txt", "vlan.txt", "updates"
		if src.topo, err = ParseTopo(bytes.NewReader(topo), src.topoFile); err != nil {
			return
		}
		if src.vlans, err = ParseVLANs(bytes.NewReader(vlan), src.vlanFile); err != nil {
			return
		}
		if src.updates, err = ParseStanfordUpdates(bytes.NewReader(updates), src.updatesFile); err != nil {
			return
		}
		n, err := buildStanford(src)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || (pe.File != "topo.txt" && pe.File != "vlan.txt" && pe.File != "updates") {
				t.Fatalf("error without its file and line: %v", err)
			}
			return
		}
		for _, l := range n.Links {
			for _, p := range []fwd.PortRef{l.From, l.To} {
				if n.Devices[p.Device] == nil || isACLNode(p.Device) {
					t.Fatalf("link %v to a port of no router", l)
				}
			}
		}
		for _, d := range n.Devices {
			for port, pa := range d.Ports {
				for _, acl := range append(pa.In, pa.Out...) {
					if d.ACLs[acl] == nil {
						t.Fatalf("%s %s: ACL %s is not defined", d.Name, port, acl)
					}
				}
			}
		}
	})
}
