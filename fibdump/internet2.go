package fibdump

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/preflight-sh/preflight/fwd"
)

// fibSuffix ends the name of an Internet2 FIB file, <router>apnotcomp.
const fibSuffix = "apnotcomp"

// ParseInternet2FIB reads one Internet2/Flash FIB file from r; name is the
// file name used in errors and origins. Each line is "fw IP LEN PORT": IP
// an IPv4 address written as an unsigned 32-bit integer, LEN the prefix
// length, PORT the output interface as <interface>.<unit>. The rule's
// priority is the prefix length (longest-prefix match) and Seq the line
// number, so of two rules for the same prefix the later line wins. With
// normalise, the .unit suffix is dropped from port names, as Flash does.
// Blank lines are skipped.
func ParseInternet2FIB(r io.Reader, name string, normalise bool) ([]fwd.Rule, error) {
	return parseInternet2FIB(r, name, normalise, 0)
}

// parseInternet2FIB is ParseInternet2FIB with room for sizeHint rules.
func parseInternet2FIB(r io.Reader, name string, normalise bool, sizeHint int) ([]fwd.Rule, error) {
	lr := newLineReader(r, name)
	rules := make([]fwd.Rule, 0, sizeHint)
	ports := map[string]string{} // one copy of each port name
	for {
		line, f, ok := lr.nextFields()
		if !ok {
			break
		}
		if len(f) != 4 || f[0] != "fw" {
			return nil, lr.errorf("FIB rule needs 4 fields (fw IP LEN PORT), found %q", line)
		}
		prefix, msg := parsePrefix(f[1], f[2])
		if msg != "" {
			return nil, lr.errorf("%s", msg)
		}
		port := f[3]
		if normalise {
			port = physicalPort(port)
		}
		p, ok := ports[port]
		if !ok {
			p = strings.Clone(port)
			ports[p] = p
		}
		rules = append(rules, fwd.Rule{
			Prefix:   prefix,
			Priority: prefix.Bits(),
			Action:   fwd.Forward,
			Ports:    []string{p},
			Seq:      lr.line,
			Origin:   origin(name, lr.line),
		})
	}
	return rules, lr.err()
}

// physicalPort drops a .unit suffix (a dot and digits) from a port name:
// ge-6/1/0.0 is unit 0 of physical port ge-6/1/0.
func physicalPort(port string) string {
	i := strings.LastIndexByte(port, '.')
	if i <= 0 || i == len(port)-1 {
		return port
	}
	for _, c := range port[i+1:] {
		if c < '0' || c > '9' {
			return port
		}
	}
	return port[:i]
}

// LoadInternet2 reads an Internet2/Flash dataset directory: one
// <router>apnotcomp FIB file per router (ParseInternet2FIB), topo.txt and
// topo-fib-inferred.txt. Both topology files are required: topo.txt is
// the upstream link list, which lacks the links the FIBs use most (the
// aggregated ae* interfaces); topo-fib-inferred.txt adds the links found by
// pairing the routers' interface addresses (see datasets/README.md; create
// it empty to load topo.txt alone). Every line of both files is one
// directed link, kept as written: a port with several links copies
// packets to every peer, so hous xe-3/1/0, which topo.txt links to both
// losa ge-6/0/0 and kans ge-6/2/0, keeps both links (Flash keeps only the
// later). Duplicate lines give one link. A topology line must name routers
// that have FIB files.
//
// With normalise, the .unit suffix is dropped from every port name, as
// Flash does and as the reference figures assume (216 equivalence
// classes). Without it the FIB's port names are kept as written, so units
// of one interface are distinct output ports (407 equivalence classes);
// links, which the topology files give between physical ports, still
// attach: each unit port of a device is given in Device.VLANs as a logical
// port whose only member is its physical port (ge-6/1/0.0 → [ge-6/1/0]), so
// forwarding out of a unit sends the packet out of the physical port and
// over its links, and drops it when that is the port it came in on.
func LoadInternet2(dir string, normalise bool) (*fwd.Network, error) {
	files, err := internet2FIBFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("fibdump: %s has no <router>%s FIB files; expected an Internet2/Flash dataset directory", dir, fibSuffix)
	}
	n := &fwd.Network{Devices: map[string]*fwd.Device{}}
	var names []string
	for _, file := range files {
		name := strings.TrimSuffix(file, fibSuffix)
		path := filepath.Join(dir, file)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("fibdump: %w", err)
		}
		rules, err := parseInternet2FIB(bytes.NewReader(data), path, normalise, bytes.Count(data, []byte{'\n'})+1)
		if err != nil {
			return nil, err
		}
		d := &fwd.Device{Name: name, Rules: rules}
		if !normalise {
			for _, r := range rules {
				for _, p := range r.Ports {
					if phys := physicalPort(p); phys != p {
						if d.VLANs == nil {
							d.VLANs = map[string][]string{}
						}
						d.VLANs[p] = []string{phys}
					}
				}
			}
		}
		n.Devices[name] = d
		names = append(names, name)
	}

	var links []fwd.Link
	for _, t := range []struct{ file, hint string }{
		{"topo.txt", "an Internet2 dataset directory needs topo.txt, the upstream link list"},
		{"topo-fib-inferred.txt", "an Internet2 dataset directory needs topo-fib-inferred.txt, the links the FIBs use that topo.txt lacks (see datasets/README.md); create it empty to load topo.txt alone"},
	} {
		path := filepath.Join(dir, t.file)
		edges, err := readFile(path, ParseTopo, t.hint)
		if err != nil {
			return nil, err
		}
		for _, e := range edges {
			for _, p := range []*fwd.PortRef{&e.From, &e.To} {
				if n.Devices[p.Device] == nil {
					return nil, &ParseError{File: path, Line: e.Line, Msg: fmt.Sprintf("device %q has no FIB file %s%s; expected one of %s", p.Device, p.Device, fibSuffix, strings.Join(names, " "))}
				}
				if normalise {
					p.Port = physicalPort(p.Port)
				}
			}
			links = append(links, fwd.Link{From: e.From, To: e.To})
		}
	}
	n.Links = sortLinks(links)
	return n, nil
}

// internet2FIBFiles returns the names of the <router>apnotcomp files of
// dir, sorted.
func internet2FIBFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("fibdump: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), fibSuffix) && e.Name() != fibSuffix {
			files = append(files, e.Name())
		}
	}
	return files, nil
}
