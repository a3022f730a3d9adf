package failures

import (
	"net/netip"
	"sync"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/hdr"
)

// acls answers questions about ACLs and destination classes with BDDs.
// ACLs come from the twin and are the same in every failure state (by
// name), so the answers are cached for the whole sweep. A BDD manager is
// not safe for concurrent use: every method takes the lock.
type acls struct {
	mu     sync.Mutex
	ipv6   bool
	space  *hdr.Space
	permit map[string]bdd.Node // by ACL name
	sets   map[string]bdd.Node // by class key
	all    map[[2]string]bool  // by class key and ACL name
}

func newACLs(ipv6 bool) *acls {
	return &acls{ipv6: ipv6, permit: map[string]bdd.Node{}, sets: map[string]bdd.Node{}, all: map[[2]string]bool{}}
}

// lockedSpace returns the header space; the lock must be held.
func (a *acls) lockedSpace() *hdr.Space {
	if a.space == nil {
		a.space = hdr.NewSpace(a.ipv6)
	}
	return a.space
}

// set returns the packets of a class: its destinations, any source of
// the same family, protocol and ports. The lock must be held.
func (a *acls) set(c class) bdd.Node {
	key := c.key()
	if n, ok := a.sets[key]; ok {
		return n
	}
	s := a.lockedSpace()
	m := s.M
	n := prefixSet(s, c.prefix)
	for _, e := range c.excl {
		n = m.Diff(n, prefixSet(s, e))
	}
	if c.prefix.Addr().Is4() {
		n = m.And(n, s.Family4())
	} else {
		n = m.And(n, s.Family6())
	}
	a.sets[key] = n
	return n
}

func prefixSet(s *hdr.Space, p netip.Prefix) bdd.Node {
	n, err := s.DstPrefix(p)
	if err != nil { // an address the space cannot hold: the space is dual-stack whenever the twin has IPv6
		panic("failures: " + err.Error())
	}
	return n
}

// permitSet returns the packets an ACL permits. The lock must be held.
func (a *acls) permitSet(acl *fwd.ACL) bdd.Node {
	if n, ok := a.permit[acl.Name]; ok {
		return n
	}
	n, err := a.lockedSpace().ACLPermit(acl)
	if err != nil { // a malformed rule matches nothing
		n = a.space.M.False()
	}
	a.permit[acl.Name] = n
	return n
}

// permitsAll reports whether an ACL permits every packet of a class.
func (a *acls) permitsAll(c class, acl *fwd.ACL) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := [2]string{c.key(), acl.Name}
	if v, ok := a.all[k]; ok {
		return v
	}
	v := a.lockedSpace().M.Diff(a.set(c), a.permitSet(acl)).IsFalse()
	a.all[k] = v
	return v
}

// denied returns a packet of the class that the ACL denies.
func (a *acls) denied(c class, acl *fwd.ACL) (fwd.Packet, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.lockedSpace()
	p, ok := s.Example(s.M.Diff(a.set(c), a.permitSet(acl)))
	return fwd.Packet(p), ok
}

// split cuts a class into the parts the given ACLs treat alike, and
// returns a packet of each: every ACL permits all of a part or none of it,
// and forwarding treats a class alike, so one packet decides its part.
func (a *acls) split(c class, list []*fwd.ACL) []fwd.Packet {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.lockedSpace()
	m := s.M
	parts := []bdd.Node{a.set(c)}
	for _, acl := range list {
		p := a.permitSet(acl)
		var next []bdd.Node
		for _, q := range parts {
			for _, n := range []bdd.Node{m.And(q, p), m.Diff(q, p)} {
				if !n.IsFalse() {
					next = append(next, n)
				}
			}
		}
		parts = next
	}
	out := make([]fwd.Packet, 0, len(parts))
	for _, q := range parts {
		ex, _ := s.Example(q)
		out = append(out, fwd.Packet(ex))
	}
	return out
}
