package change

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/yamldecode"
)

// The operator command language: one-liners people type during operations,
// compiled to the same operations a change file holds. docs/commands.md
// documents every verb with an example.
//
//	drain|undrain|shutdown|restore NOUN (NAME | SELECTOR) [count=N]
//	remove NOUN (NAME | SELECTOR) [count=N]
//	add instances service=S zone=Z count=N [role=R] [capacity=RATE]
//	set lb NAME weight TARGET=W ...
//	set dns NAME weight ANSWER=W ...
//	set NOUN NAME PATH=VALUE ...
//	withdraw|announce prefix (PREFIX | NAME) [site=S]
//	scale service=S [min=N] [max=N]
//
// A SELECTOR is one or more key=value or key!=value terms over labels and
// attributes (service, zone, region, role, site, ...).

// nouns maps command nouns to kinds.
var nouns = map[string]string{
	"region": "Region", "regions": "Region",
	"zone": "Zone", "zones": "Zone",
	"site": "Site", "sites": "Site",
	"device": "Device", "devices": "Device", "router": "Device", "routers": "Device",
	"link": "Link", "links": "Link",
	"policy": "RoutePolicy", "policies": "RoutePolicy",
	"acl": "ACL", "acls": "ACL",
	"prefix": "AnycastPrefix", "prefixes": "AnycastPrefix", "anycast": "AnycastPrefix",
	"service": "Service", "services": "Service",
	"instance": "Instance", "instances": "Instance", "host": "Instance", "hosts": "Instance",
	"lb": "LoadBalancer", "lbs": "LoadBalancer", "loadbalancer": "LoadBalancer", "loadbalancers": "LoadBalancer",
	"dns": "DNSRecord", "record": "DNSRecord", "records": "DNSRecord",
	"demand": "Demand", "artifact": "Artifact", "artifacts": "Artifact",
	"propagation": "Propagation", "limit": "BlastRadiusLimit",
}

// stateVerbs are the verbs that set an operational state.
var stateVerbs = map[string]twin.State{
	"drain": twin.Drained, "undrain": twin.Active, "shutdown": twin.Down, "restore": twin.Active,
}

var verbs = []string{"drain", "undrain", "shutdown", "restore", "remove", "add", "set", "withdraw", "announce", "scale"}

// statefulKinds are the kinds that have a state field.
var statefulKinds = map[string]bool{"Zone": true, "Site": true, "Device": true, "Link": true, "Instance": true}

type token struct {
	text string
	col  int // 1-based column in the command
}

func tokenize(cmd string) []token {
	var out []token
	start := -1
	for i, r := range cmd {
		space := r == ' ' || r == '\t'
		if !space && start < 0 {
			start = i
		}
		if space && start >= 0 {
			out = append(out, token{cmd[start:i], start + 1})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, token{cmd[start:], start + 1})
	}
	return out
}

// Compile compiles one operator command typed on the command line.
func Compile(cmd string) ([]Operation, error) {
	return CompileAt(cmd, twin.Pos{File: "command", Line: 1, Col: 1})
}

// CompileAt compiles one operator command written at pos (errors point at
// the offending word).
func CompileAt(cmd string, pos twin.Pos) ([]Operation, error) {
	c := &compiler{cmd: cmd, pos: pos, toks: tokenize(cmd)}
	ops, err := c.compile()
	if err != nil {
		return nil, err
	}
	for i := range ops {
		ops[i].Command = strings.Join(strings.Fields(cmd), " ")
		ops[i].Pos = pos
	}
	return ops, nil
}

type compiler struct {
	cmd  string
	pos  twin.Pos
	toks []token
}

// errAt reports a problem at token i (or at the end of the command).
func (c *compiler) errAt(i int, format string, args ...any) error {
	p := c.pos
	if i < len(c.toks) {
		p.Col += c.toks[i].col - 1
	} else {
		p.Col += len(c.cmd)
	}
	return yamldecode.ErrorList{{Pos: p, Msg: fmt.Sprintf(format, args...)}}
}

func (c *compiler) compile() ([]Operation, error) {
	if len(c.toks) == 0 {
		return nil, c.errAt(0, "empty command: start with a verb (%s)", strings.Join(verbs, ", "))
	}
	verb := strings.ToLower(c.toks[0].text)
	switch {
	case stateVerbs[verb] != "":
		return c.state(verb)
	case verb == "remove":
		return c.remove()
	case verb == "add":
		return c.add()
	case verb == "set":
		return c.set()
	case verb == "withdraw" || verb == "announce":
		return c.announce(verb)
	case verb == "scale":
		return c.scale()
	}
	msg := fmt.Sprintf("unknown verb %q", c.toks[0].text)
	if s := yamldecode.Suggest(verb, verbs); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return nil, c.errAt(0, "%s: verbs are %s", msg, strings.Join(verbs, ", "))
}

// noun reads the noun at token i.
func (c *compiler) noun(i int) (string, error) {
	if i >= len(c.toks) {
		return "", c.errAt(i, "%s what? add a noun such as zone, instances, link, lb, dns, prefix, service", c.toks[0].text)
	}
	w := strings.ToLower(c.toks[i].text)
	if k, ok := nouns[w]; ok {
		return k, nil
	}
	names := make([]string, 0, len(nouns))
	for n := range nouns {
		names = append(names, n)
	}
	msg := fmt.Sprintf("unknown noun %q", c.toks[i].text)
	if s := yamldecode.Suggest(w, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return "", c.errAt(i, "%s", msg)
}

// target reads "NAME" or "SELECTOR [count=N]" from token i on.
func (c *compiler) target(i int) (name string, sel Selector, count int, err error) {
	if i >= len(c.toks) {
		return "", nil, 0, c.errAt(i, "which ones? give a name or a selector such as service=billing")
	}
	if !strings.Contains(c.toks[i].text, "=") {
		name = c.toks[i].text
		i++
	}
	for ; i < len(c.toks); i++ {
		t, err := parseTerm(c.toks[i].text)
		if err != nil {
			return "", nil, 0, c.errAt(i, "%v", err)
		}
		switch {
		case t.Key == "count" && !t.Not:
			n, err := strconv.Atoi(t.Value)
			if err != nil || n <= 0 {
				return "", nil, 0, c.errAt(i, "count must be a whole number above 0, got %q", t.Value)
			}
			count = n
		default:
			sel = append(sel, t)
		}
	}
	if name != "" && len(sel) > 0 {
		return "", nil, 0, c.errAt(2, "give a name or a selector, not both")
	}
	if name == "" && len(sel) == 0 {
		return "", nil, 0, c.errAt(i, "which ones? give a name or a selector such as service=billing")
	}
	if name != "" && count > 0 {
		return "", nil, 0, c.errAt(2, "count limits a selector; with a name it has no meaning")
	}
	return name, sel, count, nil
}

// value parses the value text of token i (errors point at that token).
func (c *compiler) value(text string, i int) (Value, error) {
	v, err := ParseValue("command", text)
	if err != nil {
		msg := err.Error()
		if l, ok := err.(yamldecode.ErrorList); ok && len(l) > 0 {
			msg = l[0].Msg
		}
		return Value{}, c.errAt(i, "value %q is not valid: %s", text, msg)
	}
	return v, nil
}

func (c *compiler) state(verb string) ([]Operation, error) {
	kind, err := c.noun(1)
	if err != nil {
		return nil, err
	}
	if !statefulKinds[kind] {
		return nil, c.errAt(1, "%s works on zones, sites, devices, links and instances, not %s", verb, c.toks[1].text)
	}
	name, sel, count, err := c.target(2)
	if err != nil {
		return nil, err
	}
	v, _ := c.value(string(stateVerbs[verb]), 0)
	return []Operation{{Op: OpSet, Kind: kind, Name: name, Selector: sel, Count: count, Fields: []FieldSet{{Path: "state", Value: v}}}}, nil
}

func (c *compiler) remove() ([]Operation, error) {
	kind, err := c.noun(1)
	if err != nil {
		return nil, err
	}
	name, sel, count, err := c.target(2)
	if err != nil {
		return nil, err
	}
	return []Operation{{Op: OpRemove, Kind: kind, Name: name, Selector: sel, Count: count}}, nil
}

func (c *compiler) add() ([]Operation, error) {
	kind, err := c.noun(1)
	if err != nil {
		return nil, err
	}
	if kind != "Instance" {
		return nil, c.errAt(1, "add works on instances; to add other objects write a change file with op: add")
	}
	params := map[string]token{}
	count := 0
	for i := 2; i < len(c.toks); i++ {
		t, err := parseTerm(c.toks[i].text)
		if err != nil || t.Not {
			return nil, c.errAt(i, "write key=value (service, zone, count, role, capacity)")
		}
		switch t.Key {
		case "count":
			n, err := strconv.Atoi(t.Value)
			if err != nil || n <= 0 || n > 10000 {
				return nil, c.errAt(i, "count must be a whole number from 1 to 10000, got %q", t.Value)
			}
			count = n
		case "service", "zone", "role", "capacity":
			params[t.Key] = token{t.Value, c.toks[i].col}
		default:
			return nil, c.errAt(i, "unknown parameter %q: add instances takes service, zone, count, role, capacity", t.Key)
		}
	}
	for _, k := range []string{"service", "zone"} {
		if _, ok := params[k]; !ok {
			return nil, c.errAt(len(c.toks), "add instances needs %s=", k)
		}
	}
	if count == 0 {
		count = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{kind: Instance, name: %q, service: %q, zone: %q", "", params["service"].text, params["zone"].text)
	if r, ok := params["role"]; ok {
		fmt.Fprintf(&b, ", role: %q", r.text)
	}
	if r, ok := params["capacity"]; ok {
		fmt.Fprintf(&b, ", capacity: %q", r.text)
	}
	b.WriteString("}")
	v, err := c.value(b.String(), 0)
	if err != nil {
		return nil, err
	}
	ops := make([]Operation, count)
	for i := range ops {
		// An empty name asks Apply to name the instance service-zone-N.
		// The operations share the object's syntax tree, which Apply only
		// reads.
		ops[i] = Operation{Op: OpAdd, Kind: "Instance", Object: &v}
	}
	return ops, nil
}

func (c *compiler) set() ([]Operation, error) {
	kind, err := c.noun(1)
	if err != nil {
		return nil, err
	}
	if len(c.toks) < 3 || strings.Contains(c.toks[2].text, "=") {
		return nil, c.errAt(2, "set %s needs a name", c.toks[1].text)
	}
	name := c.toks[2].text
	i := 3
	prefix := ""
	if i < len(c.toks) && strings.EqualFold(c.toks[i].text, "weight") {
		switch kind {
		case "LoadBalancer":
			prefix = "targets"
		case "DNSRecord":
			prefix = "answers"
		default:
			return nil, c.errAt(i, "weight applies to lb and dns")
		}
		i++
	}
	var fields []FieldSet
	for ; i < len(c.toks); i++ {
		k, v, ok := strings.Cut(c.toks[i].text, "=")
		if !ok || k == "" || v == "" {
			return nil, c.errAt(i, "write field=value, e.g. state=drained")
		}
		path := k
		if prefix != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, c.errAt(i, "weight must be a whole number, got %q", v)
			}
			v = strconv.Itoa(n) // 010 is ten, not YAML's octal eight
			sel := k
			if _, err := strconv.Atoi(k); err == nil {
				// [1] is an index; the target is named 1.
				sel = "name=" + k
			}
			path = prefix + "[" + sel + "].weight"
		}
		if _, err := parsePath(path); err != nil {
			return nil, c.errAt(i, "%v", err)
		}
		val, err := c.value(v, i)
		if err != nil {
			return nil, err
		}
		fields = append(fields, FieldSet{Path: path, Value: val})
	}
	if len(fields) == 0 {
		return nil, c.errAt(i, "set what? add field=value (or weight TARGET=N for lb and dns)")
	}
	return []Operation{{Op: OpSet, Kind: kind, Name: name, Fields: fields}}, nil
}

func (c *compiler) announce(verb string) ([]Operation, error) {
	kind, err := c.noun(1)
	if err != nil {
		return nil, err
	}
	if kind != "AnycastPrefix" {
		return nil, c.errAt(1, "%s works on prefixes: %s prefix 203.0.113.0/24 site=iad-pop", verb, verb)
	}
	if len(c.toks) < 3 || strings.Contains(c.toks[2].text, "=") {
		return nil, c.errAt(2, "%s which prefix? give it (203.0.113.0/24) or its name", verb)
	}
	op := Operation{Op: OpSet, Kind: kind}
	if p, err := netip.ParsePrefix(c.toks[2].text); err == nil {
		if p != p.Masked() {
			return nil, c.errAt(2, "prefix %s has host bits set; did you mean %s?", p, p.Masked())
		}
		op.Selector = Selector{{Key: "prefix", Value: p.String()}}
	} else {
		op.Name = c.toks[2].text
	}
	path := "announcements[*].state"
	for i := 3; i < len(c.toks); i++ {
		t, err := parseTerm(c.toks[i].text)
		if err != nil || t.Not || t.Key != "site" {
			return nil, c.errAt(i, "%s takes only site=SITE after the prefix", verb)
		}
		if path != "announcements[*].state" {
			return nil, c.errAt(i, "site given twice: run one command per site")
		}
		path = "announcements[site=" + t.Value + "].state"
	}
	state := "announced"
	if verb == "withdraw" {
		state = "withdrawn"
	}
	v, _ := c.value(state, 0)
	op.Fields = []FieldSet{{Path: path, Value: v}}
	return []Operation{op}, nil
}

func (c *compiler) scale() ([]Operation, error) {
	i := 1
	name := ""
	if i < len(c.toks) && strings.EqualFold(c.toks[i].text, "service") {
		i++
		if i < len(c.toks) && !strings.Contains(c.toks[i].text, "=") {
			name = c.toks[i].text
			i++
		}
	}
	var fields []FieldSet
	for ; i < len(c.toks); i++ {
		t, err := parseTerm(c.toks[i].text)
		if err != nil || t.Not {
			return nil, c.errAt(i, "write key=value: scale service=api min=12 max=40")
		}
		switch t.Key {
		case "service":
			if name != "" {
				return nil, c.errAt(i, "service given twice")
			}
			name = t.Value
		case "min", "max":
			n, err := strconv.Atoi(t.Value)
			if err != nil || n < 0 {
				return nil, c.errAt(i, "%s must be a whole number, got %q", t.Key, t.Value)
			}
			v, _ := c.value(strconv.Itoa(n), i) // 010 is ten, not YAML's octal eight
			fields = append(fields, FieldSet{Path: "autoscaling." + t.Key, Value: v})
		default:
			return nil, c.errAt(i, "unknown parameter %q: scale takes service, min and max", t.Key)
		}
	}
	if name == "" {
		return nil, c.errAt(len(c.toks), "scale which service? add service=NAME")
	}
	if len(fields) == 0 {
		return nil, c.errAt(len(c.toks), "scale to what? add min=N and/or max=N")
	}
	return []Operation{{Op: OpSet, Kind: "Service", Name: name, Fields: fields}}, nil
}
