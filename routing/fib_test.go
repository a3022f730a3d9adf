package routing

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/fwd"
)

func TestRouteLimit(t *testing.T) {
	build := func(limit int) *Result {
		tp := square()
		if limit > 0 {
			tp.get("r1").extra = fmt.Sprintf("routeLimit: %d\n", limit)
		}
		return Build(tp.load(t))
	}
	n := len(build(0).Network.Devices["r1"].Rules)
	for _, tc := range []struct {
		limit    int
		severity finding.Severity // "" for no finding
	}{
		{n - 1, finding.Critical},
		{n, finding.Warning},
		{n * 10 / 9, finding.Warning},
		{n * 2, ""},
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			res := build(tc.limit)
			f := findingOf(res, "routing.route-limit")
			switch {
			case tc.severity == "" && f != nil:
				t.Errorf("finding %+v", f)
			case tc.severity == "":
			case f == nil:
				t.Errorf("no finding for %d rules, limit %d", n, tc.limit)
			case f.Severity != tc.severity || f.Objects[0].Name != "r1" || f.Evidence.Figures[0].Value != float64(n) || f.Evidence.Figures[1].Value != float64(tc.limit):
				t.Errorf("finding %+v", f)
			}
			if got := res.Network.Devices["r1"].RouteLimit; got != tc.limit {
				t.Errorf("RouteLimit %d", got)
			}
		})
	}
}

func TestPortsAndACLs(t *testing.T) {
	tp := &topo{docs: []string{`kind: ACL
name: in
rules:
  - {action: permit, protocol: tcp, src: 10.0.0.0/8, dstPorts: "22"}
  - {action: permit, protocol: udp, dstPorts: "1024-65535", remark: high ports}
  - {action: deny}`}}
	r1 := tp.dev("r1", 0)
	tp.dev("r2", 0)
	tp.link("r1", "r2", 10)
	r1.ifaces[1] = r1.ifaces[1][:len(r1.ifaces[1])-1] + ", aclIn: in, aclOut: in}"
	res := Build(tp.load(t))
	d := res.Network.Devices["r1"]
	if !slices.Equal(slices.Sorted(maps.Keys(d.Ports)), []string{"lo0", "r2"}) || !slices.Equal(d.Ports["r2"].In, []string{"in"}) || !slices.Equal(d.Ports["r2"].Out, []string{"in"}) {
		t.Errorf("ports %+v", d.Ports)
	}
	want := []fwd.ACLRule{
		{Permit: true, Priority: 3, Seq: 0, Proto: fwd.Range{Lo: 6, Hi: 6}, Src: fwd.PrefixMatch(mustPrefix("10.0.0.0/8")), SrcPort: fwd.AnyPort, DstPort: fwd.Range{Lo: 22, Hi: 22}, Text: "permit protocol tcp src 10.0.0.0/8 dstPorts 22"},
		{Permit: true, Priority: 2, Seq: 1, Proto: fwd.Range{Lo: 17, Hi: 17}, SrcPort: fwd.AnyPort, DstPort: fwd.Range{Lo: 1024, Hi: 65535}, Text: "permit: high ports"},
		{Permit: false, Priority: 1, Seq: 2, Proto: fwd.AnyProto, SrcPort: fwd.AnyPort, DstPort: fwd.AnyPort, Text: "deny"},
	}
	if acl := d.ACLs["in"]; acl == nil || !slices.Equal(acl.Rules, want) {
		t.Errorf("ACL %+v", acl)
	}
	if res.Network.Devices["r2"].ACLs != nil {
		t.Errorf("r2 has ACLs %v", res.Network.Devices["r2"].ACLs)
	}
	wantLinks := []fwd.Link{{From: fwd.PortRef{Device: "r1", Port: "r2"}, To: fwd.PortRef{Device: "r2", Port: "r1"}}, {From: fwd.PortRef{Device: "r2", Port: "r1"}, To: fwd.PortRef{Device: "r1", Port: "r2"}}}
	if !slices.Equal(res.Network.Links, wantLinks) {
		t.Errorf("links %+v", res.Network.Links)
	}
}

// TestDeterministic builds the same twin twice and compares the JSON.
func TestDeterministic(t *testing.T) {
	s := shop(t)
	a, err := json.Marshal(Build(s))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(Build(s))
	if string(a) != string(b) {
		t.Error("two builds of the shop differ")
	}
}
