package failures

import (
	"math/bits"
	"net/netip"

	"github.com/preflight-sh/preflight/twin"
)

// universe indexes the network part of a twin: devices, links and sites
// by position (names sorted), how links end on interfaces, and a bit
// numbering of links and devices for the sets of things traffic uses.
type universe struct {
	snap    *twin.Snapshot
	devs    []*twin.Device
	devIdx  map[string]int
	ifIdx   []map[string]int // per device: interface index by name
	ifLink  [][]int          // per device, per interface: the link on it, or -1
	links   []*twin.Link     // links whose ends are interfaces of two devices
	linkIdx map[string]int
	ends    [][2]end // per link
	sites   []*twin.Site
	words   int // uint64 words of a bit set over links and devices
}

// end is one end of a link: a device and its interface.
type end struct{ dev, iface int }

func newUniverse(s *twin.Snapshot) *universe {
	u := &universe{snap: s, devIdx: map[string]int{}, linkIdx: map[string]int{}}
	u.devs = twin.Typed[twin.Device](s)
	for i, d := range u.devs {
		u.devIdx[d.Name] = i
		m := make(map[string]int, len(d.Interfaces))
		l := make([]int, len(d.Interfaces))
		for j, f := range d.Interfaces {
			m[f.Name] = j
			l[j] = -1
		}
		u.ifIdx = append(u.ifIdx, m)
		u.ifLink = append(u.ifLink, l)
	}
	for _, l := range twin.Typed[twin.Link](s) {
		a, okA := u.linkEnd(l.A)
		b, okB := u.linkEnd(l.B)
		if !okA || !okB || a.dev == b.dev {
			continue
		}
		k := len(u.links)
		u.links = append(u.links, l)
		u.linkIdx[l.Name] = k
		u.ends = append(u.ends, [2]end{a, b})
		u.ifLink[a.dev][a.iface] = k
		u.ifLink[b.dev][b.iface] = k
	}
	u.sites = twin.Typed[twin.Site](s)
	u.words = (len(u.links) + len(u.devs) + 63) / 64
	return u
}

// linkEnd resolves "device:interface" the way routing does: split at the
// first colon before which a device of that name exists.
func (u *universe) linkEnd(ep string) (end, bool) {
	for i := range len(ep) {
		if ep[i] != ':' {
			continue
		}
		if d, ok := u.devIdx[ep[:i]]; ok {
			if j, ok := u.ifIdx[d][ep[i+1:]]; ok {
				return end{d, j}, true
			}
		}
	}
	return end{}, false
}

// devBit is the bit of device i in a set over links and devices; link k
// is bit k.
func (u *universe) devBit(i int) int { return len(u.links) + i }

// portLink returns the link on a device's interface (a port), or -1.
func (u *universe) portLink(dev int, port string) int {
	if j, ok := u.ifIdx[dev][port]; ok {
		return u.ifLink[dev][j]
	}
	return -1
}

// upState is which devices and links are up in one snapshot, with the
// semantics of package routing: a device is down if its state, its site
// or its site's zone is down; a link is down if its state, either device
// or either interface is down; an interface is down if its state, its
// device or its link is down.
type upState struct {
	dev  []bool
	link []bool
	devs []*twin.Device // the snapshot's version of each device
}

func (u *universe) up(s *twin.Snapshot) *upState {
	st := &upState{dev: make([]bool, len(u.devs)), link: make([]bool, len(u.links)), devs: make([]*twin.Device, len(u.devs))}
	for i, d := range u.devs {
		if c, ok := s.Get("Device", d.Name).(*twin.Device); ok {
			d = c
		}
		st.devs[i] = d
		st.dev[i] = d.State.Up() && s.SitePowered(d.Site)
	}
	for k, l := range u.links {
		if c, ok := s.Get("Link", l.Name).(*twin.Link); ok {
			l = c
		}
		up := l.State.Up()
		for _, e := range u.ends[k] {
			up = up && st.dev[e.dev] && st.devs[e.dev].Interfaces[e.iface].State.Up()
		}
		st.link[k] = up
	}
	return st
}

// ifaceUp reports whether interface i of device dev is up.
func (st *upState) ifaceUp(u *universe, dev, i int) bool {
	if !st.dev[dev] || !st.devs[dev].Interfaces[i].State.Up() {
		return false
	}
	l := u.ifLink[dev][i]
	return l < 0 || st.link[l]
}

// bitset is a set of small integers.
type bitset []uint64

func newBitset(words int) bitset { return make(bitset, words) }

func (b bitset) set(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b bitset) has(i int) bool { return b[i>>6]&(1<<(i&63)) != 0 }

func (b bitset) or(c bitset) {
	for i := range b {
		b[i] |= c[i]
	}
}

func (b bitset) intersects(c bitset) bool {
	for i := range b {
		if b[i]&c[i] != 0 {
			return true
		}
	}
	return false
}

// subset reports whether every member of b is in c.
func (b bitset) subset(c bitset) bool {
	for i := range b {
		if b[i]&^c[i] != 0 {
			return false
		}
	}
	return true
}

// each calls f for every member, in increasing order.
func (b bitset) each(f func(i int)) {
	for w, x := range b {
		for x != 0 {
			t := bits.TrailingZeros64(x)
			f(w*64 + t)
			x &= x - 1
		}
	}
}

// lastAddr returns the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
