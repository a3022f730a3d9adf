package fibdump

import (
	"cmp"
	"io"
	"slices"

	"github.com/preflight-sh/preflight/fwd"
)

// TopoEdge is one line of a topo.txt file: a directed edge from a port of
// one device to a port of another.
type TopoEdge struct {
	From fwd.PortRef
	To   fwd.PortRef
	Line int // line in the file
}

// ParseTopo reads a topo.txt file (both formats use it): one directed edge
// per line, "devA portA devB portB". Blank lines are skipped. Edges are
// returned in file order, duplicates included.
func ParseTopo(r io.Reader, name string) ([]TopoEdge, error) {
	lr := newLineReader(r, name)
	var edges []TopoEdge
	for {
		_, f, ok := lr.nextFields()
		if !ok {
			break
		}
		if len(f) != 4 {
			return nil, lr.errorf("topology edge needs 4 fields (DEVICE PORT PEER_DEVICE PEER_PORT), found %d", len(f))
		}
		edges = append(edges, TopoEdge{
			From: fwd.PortRef{Device: f[0], Port: f[1]},
			To:   fwd.PortRef{Device: f[2], Port: f[3]},
			Line: lr.line,
		})
	}
	return edges, lr.err()
}

// sortLinks sorts links by source then destination and drops duplicates.
func sortLinks(links []fwd.Link) []fwd.Link {
	slices.SortFunc(links, compareLinks)
	return slices.Compact(links)
}

func compareLinks(a, b fwd.Link) int {
	return cmp.Or(
		cmp.Compare(a.From.Device, b.From.Device),
		cmp.Compare(a.From.Port, b.From.Port),
		cmp.Compare(a.To.Device, b.To.Device),
		cmp.Compare(a.To.Port, b.To.Port),
	)
}
