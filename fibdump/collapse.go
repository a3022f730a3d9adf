package fibdump

import (
	"fmt"
	"slices"
	"strings"

	"github.com/preflight-sh/preflight/fwd"
)

// maxACLWalk bounds the work of following chains of ACL nodes; the
// Stanford topology needs about two hundred steps.
const maxACLWalk = 1 << 20

// isACLNode reports whether a topo.txt node is an ACL node. As in APKeep,
// that is a name ending in _in or _out.
func isACLNode(name string) bool {
	return strings.HasSuffix(name, "_in") || strings.HasSuffix(name, "_out")
}

// aclNode is an ACL node of topo.txt: ACL acl of router, on port, applied
// to traffic entering (in) or leaving the router through it.
type aclNode struct {
	name   string
	router string
	acl    string
	port   string
	in     bool
	line   int // first topo.txt line naming the node
}

func (a *aclNode) portRef() fwd.PortRef { return fwd.PortRef{Device: a.router, Port: a.port} }

// parseACLNodeName splits an ACL node name, ROUTER_ACL_PORT_in or _out,
// using the known routers (longest first) and their declared ACLs. On
// failure it returns a message saying what is wrong.
func parseACLNodeName(name string, n *fwd.Network, routers []string) (*aclNode, string) {
	base, in := strings.CutSuffix(name, "_in")
	if !in {
		base, _ = strings.CutSuffix(name, "_out")
	}
	firstRouter := ""
	for _, r := range routers {
		rest, ok := strings.CutPrefix(base, r+"_")
		if !ok {
			continue
		}
		if firstRouter == "" {
			firstRouter = r
		}
		acls := make([]string, 0, len(n.Devices[r].ACLs))
		for acl := range n.Devices[r].ACLs {
			acls = append(acls, acl)
		}
		slices.Sort(acls)
		slices.SortStableFunc(acls, func(a, b string) int { return len(b) - len(a) })
		for _, acl := range acls {
			if port, ok := strings.CutPrefix(rest, acl+"_"); ok && port != "" {
				return &aclNode{name: name, router: r, acl: acl, port: port, in: in}, ""
			}
		}
	}
	if firstRouter == "" {
		return nil, fmt.Sprintf("ACL node %s does not start with the name of a router; expected ROUTER_ACL_PORT_in or ROUTER_ACL_PORT_out", name)
	}
	acls := make([]string, 0)
	for acl := range n.Devices[firstRouter].ACLs {
		acls = append(acls, acl)
	}
	slices.Sort(acls)
	return nil, fmt.Sprintf("ACL node %s names no declared ACL of %s; expected %s_ACL_PORT_in or _out with ACL one of [%s] (declared by acls/ file names and acl updates)", name, firstRouter, firstRouter, strings.Join(acls, " "))
}

// aclPath is one way through a chain of ACL nodes: from a router port (or
// from outside, src nil) through the nodes to a router port (or out of the
// network, dst nil).
type aclPath struct {
	src, dst *fwd.PortRef
	nodes    []*aclNode
	line     int // topo.txt line where the path starts
}

// portACLs is the ACL list found for a port and direction, and the line of
// the path it was first found on.
type portACLs struct {
	acls []string
	line int
}

// collapseACLNodes turns the edges of topo.txt into links between router
// ports and port ACLs (see LoadStanford), setting n.Links and the Ports of
// the devices.
func collapseACLNodes(n *fwd.Network, file string, edges []TopoEdge) error {
	perr := func(line int, format string, args ...any) error {
		return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	routers := routersByLength(n)
	nodes := map[string]*aclNode{}
	var order []string // ACL node names, in order of first appearance
	note := func(name string, line int) error {
		if nodes[name] != nil {
			return nil
		}
		a, msg := parseACLNodeName(name, n, routers)
		if msg != "" {
			return perr(line, "%s", msg)
		}
		a.line = line
		nodes[name] = a
		order = append(order, name)
		return nil
	}

	type start struct {
		from fwd.PortRef
		node string
		line int
	}
	var direct []TopoEdge
	var starts []start
	next := map[string][]fwd.PortRef{} // where an ACL node's permit port leads
	entered := map[string]bool{}       // ACL nodes with an edge into them
	seen := map[fwd.Link]bool{}
	for _, e := range edges {
		if seen[fwd.Link{From: e.From, To: e.To}] {
			continue
		}
		seen[fwd.Link{From: e.From, To: e.To}] = true
		fromACL, toACL := isACLNode(e.From.Device), isACLNode(e.To.Device)
		if fromACL {
			if e.From.Port != "permit" {
				return perr(e.Line, "ACL node %s is left through port permit, found port %q", e.From.Device, e.From.Port)
			}
			if err := note(e.From.Device, e.Line); err != nil {
				return err
			}
		}
		if toACL {
			if e.To.Port != "inport" {
				return perr(e.Line, "ACL node %s is entered through port inport, found port %q", e.To.Device, e.To.Port)
			}
			if err := note(e.To.Device, e.Line); err != nil {
				return err
			}
			entered[e.To.Device] = true
		}
		switch {
		case !fromACL && !toACL:
			direct = append(direct, e)
		case fromACL:
			next[e.From.Device] = append(next[e.From.Device], e.To)
		default:
			starts = append(starts, start{from: e.From, node: e.To.Device, line: e.Line})
		}
	}

	var paths []aclPath
	visited := map[string]bool{}
	steps := 0
	var walk func(src *fwd.PortRef, name string, via []*aclNode, line int) error
	walk = func(src *fwd.PortRef, name string, via []*aclNode, line int) error {
		if steps++; steps > maxACLWalk {
			return perr(line, "the chains of ACL nodes starting here have more than %d steps; expected short chains", maxACLWalk)
		}
		a := nodes[name]
		if slices.Contains(via, a) {
			return perr(line, "the chain of ACL nodes starting here loops back to %s; expected it to end at a router port", name)
		}
		via = append(via[:len(via):len(via)], a)
		visited[name] = true
		outs := next[name]
		if len(outs) == 0 {
			paths = append(paths, aclPath{src: src, nodes: via, line: line})
		}
		for _, to := range outs {
			if isACLNode(to.Device) {
				if err := walk(src, to.Device, via, line); err != nil {
					return err
				}
				continue
			}
			paths = append(paths, aclPath{src: src, dst: &to, nodes: via, line: line})
		}
		return nil
	}
	for _, s := range starts {
		if err := walk(&s.from, s.node, nil, s.line); err != nil {
			return err
		}
	}
	for _, name := range order {
		if !entered[name] {
			if err := walk(nil, name, nil, nodes[name].line); err != nil {
				return err
			}
		}
	}
	for _, name := range order {
		if !visited[name] {
			return perr(nodes[name].line, "ACL node %s lies on no chain from or to a router port (its ACL nodes form a closed loop)", name)
		}
	}

	outACLs := map[fwd.PortRef]*portACLs{}
	inACLs := map[fwd.PortRef]*portACLs{}
	set := func(m map[fwd.PortRef]*portACLs, p fwd.PortRef, acls []string, line int, dir string) error {
		old := m[p]
		if old == nil {
			m[p] = &portACLs{acls: acls, line: line}
			return nil
		}
		if !slices.Equal(old.acls, acls) {
			return perr(line, "cannot collapse ACL nodes: traffic %s %s %s passes ACLs [%s] on the path starting here but [%s] on the path starting at line %d; the forwarding model has one ACL list per port and direction",
				dir, p.Device, p.Port, strings.Join(acls, " "), strings.Join(old.acls, " "), old.line)
		}
		return nil
	}
	var links []fwd.Link
	for _, e := range direct {
		if err := set(outACLs, e.From, nil, e.Line, "leaving"); err != nil {
			return err
		}
		if err := set(inACLs, e.To, nil, e.Line, "entering"); err != nil {
			return err
		}
		links = append(links, fwd.Link{From: e.From, To: e.To})
	}
	for _, p := range paths {
		var outs, ins []string
		for _, a := range p.nodes {
			if a.in {
				if p.dst == nil {
					return perr(p.line, "ACL node %s filters traffic entering %s %s, but its chain leads to no router port", a.name, a.router, a.port)
				}
				if a.portRef() != *p.dst {
					return perr(p.line, "ACL node %s filters traffic entering %s %s, but its chain leads to %s %s", a.name, a.router, a.port, p.dst.Device, p.dst.Port)
				}
				ins = append(ins, a.acl)
				continue
			}
			if len(ins) > 0 {
				return perr(p.line, "ACL node %s (out) comes after an _in ACL node on its chain; expected the sending port's _out nodes first", a.name)
			}
			if p.src == nil {
				return perr(p.line, "ACL node %s filters traffic leaving %s %s, but no router port enters its chain", a.name, a.router, a.port)
			}
			if a.portRef() != *p.src {
				return perr(p.line, "ACL node %s filters traffic leaving %s %s, but its chain is entered from %s %s", a.name, a.router, a.port, p.src.Device, p.src.Port)
			}
			outs = append(outs, a.acl)
		}
		if p.src != nil {
			if err := set(outACLs, *p.src, outs, p.line, "leaving"); err != nil {
				return err
			}
		}
		if p.dst != nil {
			if err := set(inACLs, *p.dst, ins, p.line, "entering"); err != nil {
				return err
			}
		}
		if p.src != nil && p.dst != nil {
			links = append(links, fwd.Link{From: *p.src, To: *p.dst})
		}
	}

	attach := func(m map[fwd.PortRef]*portACLs, in bool) {
		for p, c := range m {
			if len(c.acls) == 0 {
				continue
			}
			d := n.Devices[p.Device]
			if d.Ports == nil {
				d.Ports = map[string]fwd.PortACLs{}
			}
			pa := d.Ports[p.Port]
			if in {
				pa.In = c.acls
			} else {
				pa.Out = c.acls
			}
			d.Ports[p.Port] = pa
		}
	}
	attach(outACLs, false)
	attach(inACLs, true)
	n.Links = sortLinks(links)
	return nil
}
