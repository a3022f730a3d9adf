package failures

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Invariant is a property of a twin's forwarding that failures may break.
// The package provides Reach, AllPairs and Isolation; the interface is
// sealed so that each new kind of invariant says, inside this package,
// what traffic it is about and which reductions are sound for it.
type Invariant interface {
	// String says what the invariant requires, in words.
	String() string
	// ID is a short, stable name for finding IDs.
	ID() string
	// resolve checks the invariant against a twin and returns the traffic
	// it is about.
	resolve(u *universe) (*spec, error)
}

// Reach requires every packet from device From to the addresses of device
// To to be delivered to To: every ECMP branch, for every packet (any
// source address, protocol and ports, so ACLs on the way must permit them
// all). The addresses are those of To's interfaces that are up in the
// failed state, or Dst when it is given; packets to Dst may also leave
// through a port of To that has no link (towards a server LAN, say).
// Failure sets that take down From or To are not considered: they make
// the invariant vacuous.
type Reach struct {
	From, To string
	Dst      netip.Prefix
}

// String says what Reach requires.
func (r Reach) String() string {
	if r.Dst.IsValid() {
		return fmt.Sprintf("%s delivers every packet to %s at %s", r.From, r.Dst, r.To)
	}
	return fmt.Sprintf("%s delivers every packet to %s's addresses", r.From, r.To)
}

// ID names the invariant in finding IDs.
func (r Reach) ID() string {
	if r.Dst.IsValid() {
		return "reach/" + r.From + "/" + r.To + "/" + r.Dst.String()
	}
	return "reach/" + r.From + "/" + r.To
}

// AllPairs requires every up device to deliver every packet to every
// other up device's loopback addresses: its interface addresses of host
// length (/32, /128), or, on a device with none, its router ID when that
// is an interface address. It is the default invariant.
type AllPairs struct{}

// String says what AllPairs requires.
func (AllPairs) String() string {
	return "every up device delivers every packet to every other up device's loopbacks"
}

// ID names the invariant in finding IDs.
func (AllPairs) ID() string { return "all-pairs" }

// Isolation requires that no packet from device From to prefix To is
// delivered to any device or leaves the network (where it might reach
// To). Failure sets that take down From are not considered.
type Isolation struct {
	From string
	To   netip.Prefix
}

// String says what Isolation requires.
func (i Isolation) String() string {
	return fmt.Sprintf("no packet from %s to %s is delivered or leaves the network", i.From, i.To)
}

// ID names the invariant in finding IDs.
func (i Isolation) ID() string { return "isolation/" + i.From + "/" + i.To.String() }

// mode is what the traffic of an invariant must do.
type mode uint8

const (
	// mustDeliver: every branch of every demand ends accepted.
	mustDeliver mode = iota
	// mustNotReach: no branch ends delivered or leaving the network.
	mustNotReach
)

// spec is an invariant resolved against a twin: the demands it is about.
// A demand is a source device and a destination (a host address, or a
// class of addresses of a prefix).
type spec struct {
	mode    mode
	sources []int // device indexes, sorted
	// hosts are fixed destination addresses, sorted (nil with prefix).
	hosts []dest
	// pairwise leaves out demands from a device to its own addresses.
	pairwise bool
	// prefix is the destination prefix of a prefix invariant.
	prefix netip.Prefix
	// to is the device packets to prefix must reach (-1: none).
	to int
	// keep are the devices whose failure makes the invariant vacuous.
	keep []int
	// notes say what the invariant left out (devices without loopbacks).
	notes []string
}

// dest is a destination address and where it lives.
type dest struct {
	addr   netip.Addr
	subnet netip.Prefix // the interface's subnet
	owner  int          // device index
	iface  int          // interface index on the owner
}

func (u *universe) device(flag, name string) (int, error) {
	if name == "" {
		return 0, fmt.Errorf("%s: give a device name", flag)
	}
	i, ok := u.devIdx[name]
	if !ok {
		names := make([]string, 0, 8)
		for _, d := range u.devs[:min(8, len(u.devs))] {
			names = append(names, d.Name)
		}
		return 0, fmt.Errorf("%s %q is not a device of the twin (devices: %s…)", flag, name, strings.Join(names, ", "))
	}
	return i, nil
}

func (r Reach) resolve(u *universe) (*spec, error) {
	from, err := u.device("from", r.From)
	if err != nil {
		return nil, err
	}
	to, err := u.device("to", r.To)
	if err != nil {
		return nil, err
	}
	sp := &spec{mode: mustDeliver, sources: []int{from}, to: to, keep: uniq(from, to)}
	if r.Dst.IsValid() {
		sp.prefix = r.Dst.Masked()
		return sp, nil
	}
	for j, f := range u.devs[to].Interfaces {
		for _, a := range f.Addresses {
			if a.IsValid() {
				sp.hosts = append(sp.hosts, dest{addr: a.Addr(), subnet: a.Masked(), owner: to, iface: j})
			}
		}
	}
	if len(sp.hosts) == 0 {
		return nil, fmt.Errorf("to: device %s has no interface addresses to reach: give a destination prefix", r.To)
	}
	sortDests(sp.hosts)
	return sp, nil
}

func (AllPairs) resolve(u *universe) (*spec, error) {
	sp := &spec{mode: mustDeliver, pairwise: true, to: -1}
	var none []string
	for i, d := range u.devs {
		sp.sources = append(sp.sources, i)
		n := len(sp.hosts)
		for j, f := range d.Interfaces {
			for _, a := range f.Addresses {
				if a.IsValid() && a.IsSingleIP() {
					sp.hosts = append(sp.hosts, dest{addr: a.Addr(), subnet: a.Masked(), owner: i, iface: j})
				}
			}
		}
		if len(sp.hosts) == n && d.RouterID.IsValid() {
			for j, f := range d.Interfaces {
				for _, a := range f.Addresses {
					if a.Addr() == d.RouterID {
						sp.hosts = append(sp.hosts, dest{addr: a.Addr(), subnet: a.Masked(), owner: i, iface: j})
					}
				}
			}
		}
		if len(sp.hosts) == n {
			none = append(none, d.Name)
		}
	}
	if len(sp.hosts) == 0 {
		return nil, fmt.Errorf("no device has a loopback address (an interface address of length /32 or /128, or its router ID): check reachability between two named devices instead")
	}
	if len(none) > 0 {
		sp.notes = append(sp.notes, fmt.Sprintf("%d device(s) have no loopback address and are sources only: %s", len(none), strings.Join(first(none, 10), ", ")))
	}
	sortDests(sp.hosts)
	return sp, nil
}

func (i Isolation) resolve(u *universe) (*spec, error) {
	from, err := u.device("from", i.From)
	if err != nil {
		return nil, err
	}
	if !i.To.IsValid() {
		return nil, fmt.Errorf("isolation: give the prefix that must not be reached")
	}
	return &spec{mode: mustNotReach, sources: []int{from}, prefix: i.To.Masked(), to: -1, keep: []int{from}}, nil
}

func sortDests(ds []dest) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].addr.Less(ds[j].addr) })
}

func uniq(a, b int) []int {
	if a == b {
		return []int{a}
	}
	return []int{a, b}
}

func first(list []string, n int) []string {
	if len(list) > n {
		return append(list[:n:n], "…")
	}
	return list
}
