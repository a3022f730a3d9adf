package fibdump

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/fwd"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func match(addr, mask string) fwd.AddrMatch {
	return fwd.AddrMatch{Addr: netip.MustParseAddr(addr), Mask: netip.MustParseAddr(mask)}
}

func port(dev, p string) fwd.PortRef { return fwd.PortRef{Device: dev, Port: p} }

func link(fd, fp, td, tp string) fwd.Link { return fwd.Link{From: port(fd, fp), To: port(td, tp)} }

// sameNetwork fails the test with both networks as JSON if they differ.
func sameNetwork(t *testing.T, got, want *fwd.Network) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	t.Fatalf("network differs\n--- got\n%s\n--- want\n%s", g, w)
}

func TestLoadStanfordSmall(t *testing.T) {
	const updates = "testdata/stanford/updates"
	text := func(line int) string {
		data, err := os.ReadFile(updates)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(data), "\n")[line-1]
	}
	fw := func(p string, prio int, seq int, ports ...string) fwd.Rule {
		r := fwd.Rule{Prefix: pfx(p), Priority: prio, Action: fwd.Forward, Ports: ports, Seq: seq, Origin: "fib updates:" + itoa(seq)}
		if len(ports) == 0 {
			r.Action = fwd.Deliver
		}
		return r
	}
	want := &fwd.Network{
		Devices: map[string]*fwd.Device{
			"r1_rtr": {
				Name: "r1_rtr",
				Rules: []fwd.Rule{
					fw("10.0.0.0/8", 8, 1, "te1"),
					fw("10.0.0.0/8", 8, 2, "te2"), // same prefix: the later (higher Seq) wins
					fw("0.0.0.0/0", 0, 3, "vlan10"),
				},
				VLANs: map[string][]string{"vlan10": {"te1", "te2", "gi1"}},
			},
			"r2_rtr": {
				Name: "r2_rtr",
				Rules: []fwd.Rule{
					fw("10.0.0.1/32", 32, 4),
					fw("10.0.0.0/24", 24, 5, "te3"), // 10.0.0.11 with host bits cleared
				},
				ACLs:  map[string]*fwd.ACL{"100": {Name: "100"}}, // declared by acls/r2_rtr_100, no rules
				Ports: map[string]fwd.PortACLs{"gi1": {Out: []string{"100"}}},
			},
			"r3_rtr": {
				Name: "r3_rtr",
				// line 10 is inserted, deleted by line 11 (before the last
				// insert, so applied); lines 13-14 are the trailing trace.
				Rules: []fwd.Rule{fw("192.168.0.0/16", 16, 12, "te3")},
				ACLs: map[string]*fwd.ACL{
					"in1": {Name: "in1", Rules: []fwd.ACLRule{
						{Permit: true, Priority: 65535, Seq: 6, Proto: fwd.AnyProto, Src: match("10.1.0.0", "255.255.0.0"), SrcPort: fwd.AnyPort, DstPort: fwd.AnyPort, Text: text(6)},
						{Priority: 65534, Seq: 7, Proto: fwd.Range{Lo: 6, Hi: 6}, Dst: match("10.2.3.4", "255.255.255.255"), SrcPort: fwd.AnyPort, DstPort: fwd.Range{Lo: 22, Hi: 65535}, Text: text(7)},
					}},
					"out1": {Name: "out1", Rules: []fwd.ACLRule{
						{Priority: 10, Seq: 8, Proto: fwd.Range{Lo: 17, Hi: 17}, Src: match("10.1.0.3", "255.255.0.255"), SrcPort: fwd.Range{Lo: 100, Hi: 200}, DstPort: fwd.AnyPort, Text: text(8)},
					}},
					"100": {Name: "100", Rules: []fwd.ACLRule{
						{Permit: true, Priority: 65535, Seq: 9, Proto: fwd.AnyProto, SrcPort: fwd.AnyPort, DstPort: fwd.AnyPort, Text: text(9)},
					}},
				},
				Ports: map[string]fwd.PortACLs{
					"te1": {In: []string{"in1"}, Out: []string{"out1"}},
					"gi2": {In: []string{"100"}},
				},
			},
		},
		Links: []fwd.Link{
			link("r1_rtr", "te1", "r2_rtr", "te1"),
			link("r1_rtr", "te2", "r3_rtr", "te1"), // through r3_rtr_in1_te1_in
			link("r2_rtr", "te1", "r1_rtr", "te1"),
			link("r2_rtr", "te3", "r3_rtr", "te3"),
			link("r3_rtr", "te1", "r1_rtr", "te2"), // through r3_rtr_out1_te1_out
			link("r3_rtr", "te3", "r2_rtr", "te3"),
		},
	}
	got, err := LoadStanford("testdata/stanford")
	if err != nil {
		t.Fatal(err)
	}
	sameNetwork(t, got, want)

	got, format, err := Load("testdata/stanford")
	if err != nil || format != FormatStanford {
		t.Fatalf("Load: format %q, error %v", format, err)
	}
	sameNetwork(t, got, want)
}

func TestReadStanfordUpdatesSmall(t *testing.T) {
	ups, err := ReadStanfordUpdates("testdata/stanford/updates")
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 14 {
		t.Fatalf("%d updates, want 14", len(ups))
	}
	last := ups[13]
	want := Update{
		Insert: false, Device: "r3_rtr", ACL: "in1", Line: 14,
		ACLRule: &fwd.ACLRule{Permit: true, Priority: 65535, Seq: 14, Proto: fwd.AnyProto, Src: match("10.1.0.0", "255.255.0.0"), SrcPort: fwd.AnyPort, DstPort: fwd.AnyPort,
			Text: "- acl r3_rtr_in1 access-list in1 permit 0 255 10.1.0.0 0.0.255.255 null null any null null null 65535"},
	}
	if !reflect.DeepEqual(last, want) {
		t.Errorf("last update\n got %+v %+v\nwant %+v %+v", last, last.ACLRule, want, want.ACLRule)
	}
	del := ups[12]
	if del.Insert || del.Device != "r1_rtr" || del.Rule == nil || del.Rule.Prefix != pfx("0.0.0.0/0") || del.Rule.Ports[0] != "vlan10" || del.Line != 13 {
		t.Errorf("update 13: %+v %+v", del, del.Rule)
	}

	// Replaying the whole trace on the loaded network removes the two
	// rules the trailing deletes name.
	n, err := LoadStanford("testdata/stanford")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups[12:] {
		if err := ApplyUpdate(n, u); err != nil {
			t.Fatal(err)
		}
	}
	if len(n.Devices["r1_rtr"].Rules) != 2 || len(n.Devices["r3_rtr"].ACLs["in1"].Rules) != 1 {
		t.Errorf("after replay: r1 rules %v, in1 %v", n.Devices["r1_rtr"].Rules, n.Devices["r3_rtr"].ACLs["in1"].Rules)
	}
	// A delete of what is no longer installed is an error.
	if err := ApplyUpdate(n, ups[12]); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("second delete: %v", err)
	}
}

func TestLoadInternet2Small(t *testing.T) {
	fw := func(file, p string, seq int, port string) fwd.Rule {
		pr := pfx(p)
		return fwd.Rule{Prefix: pr, Priority: pr.Bits(), Action: fwd.Forward, Ports: []string{port}, Seq: seq, Origin: "fib " + file + ":" + itoa(seq)}
	}
	links := []fwd.Link{
		link("a", "ae0", "b", "ae0"),
		link("a", "xe-0/0/0", "b", "ge-1/0/0"), // a port with two peers keeps both
		link("a", "xe-0/0/0", "b", "xe-1/0/0"), // listed in both files: one link
		link("b", "ae0", "a", "ae0"),
		link("b", "xe-1/0/0", "a", "xe-0/0/0"),
	}
	want := &fwd.Network{
		Devices: map[string]*fwd.Device{
			"a": {Name: "a", Rules: []fwd.Rule{
				fw("aapnotcomp", "10.0.0.0/8", 1, "xe-0/0/0"),
				fw("aapnotcomp", "10.0.0.0/8", 2, "xe-0/0/0"),
				fw("aapnotcomp", "192.168.1.1/32", 3, "dsc"),
			}},
			"b": {Name: "b", Rules: []fwd.Rule{
				fw("bapnotcomp", "0.0.0.0/0", 1, "ae0"),
				fw("bapnotcomp", "10.0.0.0/8", 3, "xe-1/0/0"), // line 2 is blank
			}},
		},
		Links: links,
	}
	got, err := LoadInternet2("testdata/internet2", true)
	if err != nil {
		t.Fatal(err)
	}
	sameNetwork(t, got, want)
	got, format, err := Load("testdata/internet2")
	if err != nil || format != FormatInternet2 {
		t.Fatalf("Load: format %q, error %v", format, err)
	}
	sameNetwork(t, got, want)

	raw := &fwd.Network{
		Devices: map[string]*fwd.Device{
			"a": {Name: "a", Rules: []fwd.Rule{
				fw("aapnotcomp", "10.0.0.0/8", 1, "xe-0/0/0.0"),
				fw("aapnotcomp", "10.0.0.0/8", 2, "xe-0/0/0.10"),
				fw("aapnotcomp", "192.168.1.1/32", 3, "dsc.0"),
			}, VLANs: map[string][]string{"xe-0/0/0.0": {"xe-0/0/0"}, "xe-0/0/0.10": {"xe-0/0/0"}, "dsc.0": {"dsc"}}},
			"b": {Name: "b", Rules: []fwd.Rule{
				fw("bapnotcomp", "0.0.0.0/0", 1, "ae0.0"),
				fw("bapnotcomp", "10.0.0.0/8", 3, "xe-1/0/0.0"),
			}, VLANs: map[string][]string{"ae0.0": {"ae0"}, "xe-1/0/0.0": {"xe-1/0/0"}}},
		},
		Links: links,
	}
	got, err = LoadInternet2("testdata/internet2", false)
	if err != nil {
		t.Fatal(err)
	}
	sameNetwork(t, got, raw)
}

func TestPhysicalPort(t *testing.T) {
	for in, want := range map[string]string{
		"ge-6/1/0.0":   "ge-6/1/0",
		"xe-0/0/0.102": "xe-0/0/0",
		"dsc.0":        "dsc",
		"ae0":          "ae0",
		"et-3/0/0-0":   "et-3/0/0-0",
		"a.b":          "a.b",
		"x.":           "x.",
		".5":           ".5",
		"a.1.2":        "a.1",
	} {
		if got := physicalPort(in); got != want {
			t.Errorf("physicalPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	long := "+ fwd r 1 2 " + strings.Repeat("x", MaxLineBytes) + " 2\n"
	tests := []struct {
		parser, input, want string
	}{
		{"updates", "+ fwd r 1 8 te1\n", "f:1: fwd rule needs 7 fields (+ fwd ROUTER IP LEN PORT PRIORITY), found 6"},
		{"updates", "\n\n+ fwd bbra_rtr 0 8\n", "f:3: fwd rule needs 7 fields (+ fwd ROUTER IP LEN PORT PRIORITY), found 5"},
		{"updates", "* fwd r 1 8 te1 8\n", `f:1: update starts with "*"; expected + (insert) or - (delete)`},
		{"updates", "+\n", "f:1: update has no rule type; expected fwd or acl after +"},
		{"updates", "+ nat r x\n", `f:1: rule type "nat" is not supported; expected fwd or acl`},
		{"updates", "+ fwd r 4294967296 8 te1 8\n", `f:1: address "4294967296" is not an IPv4 address written as an unsigned 32-bit integer (0 to 4294967295)`},
		{"updates", "+ fwd r -1 8 te1 8\n", `f:1: address "-1" is not an IPv4 address`},
		{"updates", "+ fwd r 1 33 te1 8\n", `f:1: prefix length "33" is not a number from 0 to 32`},
		{"updates", "+ fwd r 1 8 te1 99999999999\n", `f:1: priority "99999999999" is not a 32-bit integer`},
		{"updates", "+ acl r_a access-list a permit 0 255 any null\n", "f:1: acl rule needs 17 fields (+ acl ROUTER_ACL access-list ACL permit|deny"},
		{"updates", "+ acl r_a list a permit 0 255 any null null null any null null null 1\n", `f:1: acl rule has "list" as its 4th field; expected access-list`},
		{"updates", "+ acl r_b access-list a permit 0 255 any null null null any null null null 1\n", `f:1: ACL element "r_b" is not ROUTER_a`},
		{"updates", "+ acl _a access-list a permit 0 255 any null null null any null null null 1\n", `f:1: ACL element "_a" is not ROUTER_a`},
		{"updates", "+ acl r_a access-list a allow 0 255 any null null null any null null null 1\n", `f:1: ACL action "allow"; expected permit or deny`},
		{"updates", "+ acl r_a access-list a permit 0 256 any null null null any null null null 1\n", `f:1: protocol upper bound "256" is not a number from 0 to 255 or null`},
		{"updates", "+ acl r_a access-list a permit 7 6 any null null null any null null null 1\n", "f:1: protocol range 7-6 is empty; expected the lower bound first"},
		{"updates", "+ acl r_a access-list a permit null 6 any null null null any null null null 1\n", `f:1: protocol upper bound is "6" but the lower bound is null; expected a lower bound, or null for both`},
		{"updates", "+ acl r_a access-list a permit 0 255 10.0.0 null null null any null null null 1\n", `f:1: source address "10.0.0" is not a dotted IPv4 address, any or null`},
		{"updates", "+ acl r_a access-list a permit 0 255 any null null null ::1 null null null 1\n", `f:1: destination address "::1" is not a dotted IPv4 address, any or null`},
		{"updates", "+ acl r_a access-list a permit 0 255 10.0.0.0 255 null null any null null null 1\n", `f:1: source wildcard "255" is not a dotted IPv4 wildcard mask`},
		{"updates", "+ acl r_a access-list a permit 0 255 any 0.0.0.255 null null any null null null 1\n", `f:1: source address is any but its wildcard is "0.0.0.255"; expected null`},
		{"updates", "+ acl r_a access-list a permit 0 255 any null 70000 null any null null null 1\n", `f:1: source port lower bound "70000" is not a number from 0 to 65535, null or any`},
		{"updates", "+ acl r_a access-list a permit 0 255 any null null null any null 80 x 1\n", `f:1: destination port upper bound "x" is not a number`},
		{"updates", "+ acl r_a access-list a permit 0 255 any null null null any null null null p\n", `f:1: priority "p" is not a 32-bit integer`},
		{"updates", long, "f:1: line longer than 65536 bytes; expected one short rule per line"},
		{"topo", "a b c\n", "f:1: topology edge needs 4 fields (DEVICE PORT PEER_DEVICE PEER_PORT), found 3"},
		{"vlan", "r1 vlan1 te1\nr1 vlan2\n", "f:2: VLAN line needs a router, a VLAN name and at least one member port (ROUTER VLAN PORT...), found 2 fields"},
		{"vlan", "r1 vlan1 te1 te2 te1\n", "f:1: member port te1 of vlan1 is listed twice; expected each port once"},
		{"fib", "fw 1 8\n", `f:1: FIB rule needs 4 fields (fw IP LEN PORT), found "fw 1 8"`},
		{"fib", "fw 1 8 a.0\nfx 1 8 a.0\n", `f:2: FIB rule needs 4 fields (fw IP LEN PORT), found "fx 1 8 a.0"`},
		{"fib", "fw 1 40 a.0\n", `f:1: prefix length "40" is not a number from 0 to 32`},
	}
	for _, tt := range tests {
		var err error
		r := strings.NewReader(tt.input)
		switch tt.parser {
		case "updates":
			_, err = ParseStanfordUpdates(r, "f")
		case "topo":
			_, err = ParseTopo(r, "f")
		case "vlan":
			_, err = ParseVLANs(r, "f")
		case "fib":
			_, err = ParseInternet2FIB(r, "f", true)
		}
		var pe *ParseError
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.As(err, &pe) {
			t.Errorf("%s %q:\n got %v\nwant %s...", tt.parser, shorten(tt.input), err, tt.want)
		}
	}
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// writeDir writes files (name → content) under a new temporary directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadStanfordErrors(t *testing.T) {
	const aclRule = " access-list a permit 0 255 any null null null any null null null 1\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string // after the directory
	}{
		{"missing updates", map[string]string{"topo.txt": ""},
			"updates: no such file or directory (a Stanford/APKeep dataset directory needs topo.txt and updates)"},
		{"delete before last insert", map[string]string{"topo.txt": "", "updates": "+ fwd r 0 8 te1 8\n- fwd r 0 8 te2 8\n+ fwd r 0 8 te3 8\n"},
			"updates:2: delete of rule 0.0.0.0/8 priority 8 to port te2 on r, which is not installed; expected an earlier insert of a rule with the same prefix, priority and port"},
		{"undefined vlan", map[string]string{"topo.txt": "", "updates": "+ fwd r 0 8 te1 8\n+ fwd r 0 9 vlan7 9\n", "vlan.txt": "r vlan8 te1\n"},
			`updates:2: rule forwards to vlan7, which vlan.txt does not define for r; expected a line "r vlan7 PORT..."`},
		{"duplicate vlan", map[string]string{"topo.txt": "", "updates": "", "vlan.txt": "r vlan8 te1\n\nr vlan8 te2\n"},
			"vlan.txt:3: VLAN vlan8 of r is already defined at line 1; expected each VLAN once"},
		{"acl file of unknown router", map[string]string{"topo.txt": "r p s q\n", "updates": "", "acls/x_a": ""},
			"acls/x_a: file name is not ROUTER_ACL for a router of topo.txt or updates"},
		{"undeclared acl", map[string]string{"topo.txt": "r p r_b_p_in inport\nr_b_p_in permit s q\n", "updates": "+ acl r_a" + aclRule},
			"topo.txt:1: ACL node r_b_p_in names no declared ACL of r; expected r_ACL_PORT_in or _out with ACL one of [a] (declared by acls/ file names and acl updates)"},
		{"no router", map[string]string{"topo.txt": "r p x_b_p_in inport\n", "updates": ""},
			"topo.txt:1: ACL node x_b_p_in does not start with the name of a router; expected ROUTER_ACL_PORT_in or ROUTER_ACL_PORT_out"},
		{"wrong entry port", map[string]string{"topo.txt": "r p r_a_p_out permit\n", "updates": "+ acl r_a" + aclRule},
			`topo.txt:1: ACL node r_a_p_out is entered through port inport, found port "permit"`},
		{"wrong exit port", map[string]string{"topo.txt": "r_a_p_out deny s q\n", "updates": "+ acl r_a" + aclRule},
			`topo.txt:1: ACL node r_a_p_out is left through port permit, found port "deny"`},
		{"out node on another port", map[string]string{"topo.txt": "r p2 r_a_p_out inport\nr_a_p_out permit s q\n", "updates": "+ acl r_a" + aclRule},
			"topo.txt:1: ACL node r_a_p_out filters traffic leaving r p, but its chain is entered from r p2"},
		{"in node leads elsewhere", map[string]string{"topo.txt": "s q s_a_p_in inport\ns_a_p_in permit r p\n", "updates": "+ acl s_a" + aclRule},
			"topo.txt:1: ACL node s_a_p_in filters traffic entering s p, but its chain leads to r p"},
		{"in before out", map[string]string{"topo.txt": "r p s_a_q_in inport\ns_a_q_in permit r_a_p_out inport\nr_a_p_out permit s q\n", "updates": "+ acl r_a" + aclRule + "+ acl s_a" + aclRule},
			"topo.txt:1: ACL node r_a_p_out (out) comes after an _in ACL node on its chain; expected the sending port's _out nodes first"},
		{"out node with no entry", map[string]string{"topo.txt": "r_a_p_out permit s q\n", "updates": "+ acl r_a" + aclRule},
			"topo.txt:1: ACL node r_a_p_out filters traffic leaving r p, but no router port enters its chain"},
		{"in node dead end", map[string]string{"topo.txt": "s q r_a_p_in inport\n", "updates": "+ acl r_a" + aclRule},
			"topo.txt:1: ACL node r_a_p_in filters traffic entering r p, but its chain leads to no router port"},
		{"chain loops", map[string]string{"topo.txt": "r p r_a_p_out inport\nr_a_p_out permit r_b_p_out inport\nr_b_p_out permit r_a_p_out inport\n", "updates": "+ acl r_a" + aclRule + "+ acl r_b access-list b permit 0 255 any null null null any null null null 1\n"},
			"topo.txt:1: the chain of ACL nodes starting here loops back to r_a_p_out; expected it to end at a router port"},
		{"closed loop", map[string]string{"topo.txt": "r_a_p_out permit r_a_q_out inport\nr_a_q_out permit r_a_p_out inport\n", "updates": "+ acl r_a" + aclRule},
			"topo.txt:1: ACL node r_a_p_out lies on no chain from or to a router port (its ACL nodes form a closed loop)"},
		{"port ACLs differ by link", map[string]string{"topo.txt": "r p s q\nr p r_a_p_out inport\nr_a_p_out permit t q\n", "updates": "+ acl r_a" + aclRule},
			"topo.txt:2: cannot collapse ACL nodes: traffic leaving r p passes ACLs [a] on the path starting here but [] on the path starting at line 1; the forwarding model has one ACL list per port and direction"},
	}
	for _, tt := range tests {
		dir := writeDir(t, tt.files)
		_, err := LoadStanford(dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tt.want)) {
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, filepath.Join(dir, tt.want))
		}
	}
}

func TestLoadInternet2Errors(t *testing.T) {
	fib := "fw 0 0 ae0.0\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no fib files", map[string]string{"topo.txt": ""}, "has no <router>apnotcomp FIB files; expected an Internet2/Flash dataset directory"},
		{"no inferred links", map[string]string{"aapnotcomp": fib, "topo.txt": ""},
			"topo-fib-inferred.txt: no such file or directory (an Internet2 dataset directory needs topo-fib-inferred.txt"},
		{"unknown device", map[string]string{"aapnotcomp": fib, "bapnotcomp": fib, "topo.txt": "", "topo-fib-inferred.txt": "a x c y\n"},
			`topo-fib-inferred.txt:1: device "c" has no FIB file capnotcomp; expected one of a b`},
		{"bad rule", map[string]string{"aapnotcomp": fib + "fw 0 0\n", "topo.txt": "", "topo-fib-inferred.txt": ""},
			`aapnotcomp:2: FIB rule needs 4 fields (fw IP LEN PORT), found "fw 0 0"`},
	}
	for _, tt := range tests {
		dir := writeDir(t, tt.files)
		_, err := LoadInternet2(dir, true)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, tt.want)
		}
	}
}

func TestLoadDetect(t *testing.T) {
	dir := writeDir(t, map[string]string{"readme": ""})
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "holds no known forwarding-table dump: expected the files updates and topo.txt (Stanford/APKeep) or <router>apnotcomp files (Internet2/Flash)") {
		t.Errorf("empty directory: %v", err)
	}
	if _, _, err := Load(filepath.Join(dir, "readme")); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("file: %v", err)
	}
	if _, _, err := Load(filepath.Join(dir, "missing")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestApplyUpdate(t *testing.T) {
	n := &fwd.Network{}
	if err := ApplyUpdate(n, Update{Insert: true, Device: "r"}); err == nil {
		t.Error("update without a rule applied")
	}
	r := fwd.Rule{Prefix: pfx("10.0.0.0/8"), Priority: 8, Ports: []string{"p"}}
	for range 2 {
		if err := ApplyUpdate(n, Update{Insert: true, Device: "r", Rule: &r}); err != nil {
			t.Fatal(err)
		}
	}
	if len(n.Devices["r"].Rules) != 2 {
		t.Errorf("an identical insert was not installed twice: %v", n.Devices["r"].Rules)
	}
	r.Ports[0] = "changed"
	if n.Devices["r"].Rules[0].Ports[0] != "p" {
		t.Error("the network shares the update's port slice")
	}
	if err := ApplyUpdate(n, Update{Device: "x", Rule: &r}); err == nil || !strings.Contains(err.Error(), "delete on device x, which has no rules") {
		t.Errorf("delete on unknown device: %v", err)
	}
	if err := ApplyUpdate(n, Update{Device: "r", ACL: "a", ACLRule: &fwd.ACLRule{}}); err == nil || !strings.Contains(err.Error(), "delete of an ACL rule of a on r, which is not installed") {
		t.Errorf("delete from unknown ACL: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
