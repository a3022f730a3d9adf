package routing

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/twin"
)

// convertACLs returns every twin ACL as a forwarding-model ACL, by name.
// The first rule gets the highest priority.
func convertACLs(s *twin.Snapshot) map[string]*fwd.ACL {
	out := map[string]*fwd.ACL{}
	for _, a := range twin.Typed[twin.ACL](s) {
		acl := &fwd.ACL{Name: a.Name, Rules: make([]fwd.ACLRule, len(a.Rules))}
		for i, r := range a.Rules {
			acl.Rules[i] = fwd.ACLRule{
				Permit:   r.Action == "permit",
				Priority: len(a.Rules) - i,
				Seq:      i,
				Proto:    protoRange(r.Protocol),
				Src:      fwd.PrefixMatch(r.Src),
				Dst:      fwd.PrefixMatch(r.Dst),
				SrcPort:  portRange(r.SrcPorts),
				DstPort:  portRange(r.DstPorts),
				Text:     aclText(r),
			}
		}
		out[a.Name] = acl
	}
	return out
}

// portACLs returns the ACLs a device applies and the ACLs of each of its
// ports (every interface is a port).
func portACLs(d *device, acls map[string]*fwd.ACL) (map[string]*fwd.ACL, map[string]fwd.PortACLs) {
	used := map[string]*fwd.ACL{}
	ports := make(map[string]fwd.PortACLs, len(d.ifaces))
	for _, f := range d.cfg.Interfaces {
		var p fwd.PortACLs
		if a := acls[f.ACLIn]; a != nil {
			p.In, used[a.Name] = []string{a.Name}, a
		}
		if a := acls[f.ACLOut]; a != nil {
			p.Out, used[a.Name] = []string{a.Name}, a
		}
		ports[f.Name] = p
	}
	if len(used) == 0 {
		used = nil
	}
	return used, ports
}

// protoRange returns the protocol numbers an ACL rule's protocol matches.
func protoRange(p string) fwd.Range {
	switch p {
	case "", "any":
		return fwd.AnyProto
	case "icmp":
		return fwd.Range{Lo: 1, Hi: 1}
	case "tcp":
		return fwd.Range{Lo: 6, Hi: 6}
	case "udp":
		return fwd.Range{Lo: 17, Hi: 17}
	case "icmpv6":
		return fwd.Range{Lo: 58, Hi: 58}
	}
	n, _ := strconv.Atoi(p)
	return fwd.Range{Lo: n, Hi: n}
}

// portRange returns the ports "N" or "N-M" match, or every port.
func portRange(s string) fwd.Range {
	if s == "" {
		return fwd.AnyPort
	}
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	l, _ := strconv.Atoi(lo)
	h, _ := strconv.Atoi(hi)
	return fwd.Range{Lo: l, Hi: h}
}

// aclText is an ACL rule as written: its remark, or its fields.
func aclText(r twin.ACLRule) string {
	if r.Remark != "" {
		return r.Action + ": " + r.Remark
	}
	parts := []string{r.Action}
	for _, f := range []struct{ name, val string }{
		{"protocol", r.Protocol}, {"src", prefixText(r.Src)}, {"dst", prefixText(r.Dst)}, {"srcPorts", r.SrcPorts}, {"dstPorts", r.DstPorts},
	} {
		if f.val != "" {
			parts = append(parts, f.name+" "+f.val)
		}
	}
	return strings.Join(parts, " ")
}

func prefixText(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}
