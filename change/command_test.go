package change

import (
	"strconv"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/twin"
)

// fieldWant is the value a field must have after a change ("<absent>" for
// an object that must not exist, "<present>" with an empty path for one
// that must).
type fieldWant struct {
	ref, path, value string
}

var commandTests = []struct {
	cmd  string
	ops  int // operations compiled (0 means 1)
	want []fieldWant
}{
	// State verbs on every stateful noun, by name.
	{cmd: "drain zone use1-az1", want: []fieldWant{{"Zone/use1-az1", "state", "drained"}, {"Zone/use1-az2", "state", `""`}}},
	{cmd: "undrain zone use1-az2", want: []fieldWant{{"Zone/use1-az2", "state", "active"}}},
	{cmd: "shutdown zone euw1-az2", want: []fieldWant{{"Zone/euw1-az2", "state", "down"}}},
	{cmd: "restore zone use1-az3", want: []fieldWant{{"Zone/use1-az3", "state", "active"}}},
	{cmd: "drain site dub1", want: []fieldWant{{"Site/dub1", "state", "drained"}}},
	{cmd: "shutdown site fra-pop", want: []fieldWant{{"Site/fra-pop", "state", "down"}}},
	{cmd: "restore sites fra-pop", want: []fieldWant{{"Site/fra-pop", "state", "active"}}},
	{cmd: "drain device iad1-r1", want: []fieldWant{{"Device/iad1-r1", "state", "drained"}}},
	{cmd: "shutdown router fra-r1", want: []fieldWant{{"Device/fra-r1", "state", "down"}}},
	{cmd: "drain link iad1-dub1", want: []fieldWant{{"Link/iad1-dub1", "state", "drained"}}},
	{cmd: "shutdown links iad1-dub1", want: []fieldWant{{"Link/iad1-dub1", "state", "down"}}},
	{cmd: "drain instance api-4", want: []fieldWant{{"Instance/api-4", "state", "drained"}, {"Instance/api-3", "state", `""`}}},
	{cmd: "undrain host db-1", want: []fieldWant{{"Instance/db-1", "state", "active"}}},
	// Verbs and nouns are not case-sensitive; names are; extra blanks are fine.
	{cmd: "  DRAIN   Zone\tuse1-az2 ", want: []fieldWant{{"Zone/use1-az2", "state", "drained"}}},
	// By selector, all matches or count= of them (in name order).
	{cmd: "drain zones region=eu-west-1", want: []fieldWant{{"Zone/euw1-az1", "state", "drained"}, {"Zone/euw1-az2", "state", "drained"}, {"Zone/use1-az1", "state", `""`}}},
	{cmd: "shutdown devices role=border", want: []fieldWant{{"Device/iad1-r1", "state", "down"}, {"Device/dub1-r1", "state", "down"}, {"Device/fra-r1", "state", `""`}}},
	{cmd: "drain sites region=eu-west-1 type=pop", want: []fieldWant{{"Site/fra-pop", "state", "drained"}, {"Site/dub1", "state", `""`}}},
	{cmd: "drain instances service=billing zone=use1-az1", want: []fieldWant{{"Instance/billing-1", "state", "drained"}, {"Instance/billing-2", "state", `""`}}},
	{cmd: "drain instances service=api count=2", want: []fieldWant{{"Instance/api-1", "state", "drained"}, {"Instance/api-2", "state", "drained"}, {"Instance/api-3", "state", `""`}}},
	{cmd: "shutdown instances region=eu-west-1 service!=api", want: []fieldWant{{"Instance/billing-4", "state", "down"}, {"Instance/db-3", "state", "down"}, {"Instance/api-3", "state", `""`}}},
	{cmd: "drain instances tier=web zone=euw1-az2", want: []fieldWant{{"Instance/api-4", "state", "drained"}}},
	{cmd: "restore links a=iad1-r1:eth0", want: []fieldWant{{"Link/iad1-dub1", "state", "active"}}},
	// remove.
	{cmd: "remove instance api-4", want: []fieldWant{{"Instance/api-4", "", "<absent>"}, {"Instance/api-3", "", "<present>"}}},
	{cmd: "remove instances service=db role=replica count=1", want: []fieldWant{{"Instance/db-2", "", "<absent>"}, {"Instance/db-3", "", "<present>"}}},
	{cmd: "remove instances zone=euw1-az2", want: []fieldWant{{"Instance/api-4", "", "<absent>"}}},
	// add.
	{cmd: "add instances service=billing zone=use1-az3 count=2", ops: 2, want: []fieldWant{
		{"Instance/billing-use1-az3-1", "service", "billing"},
		{"Instance/billing-use1-az3-1", "zone", "use1-az3"},
		{"Instance/billing-use1-az3-2", "zone", "use1-az3"},
		{"Instance/billing-use1-az3-3", "", "<absent>"},
	}},
	{cmd: "add instance service=db zone=euw1-az2 role=replica capacity=4krps", want: []fieldWant{
		{"Instance/db-euw1-az2-1", "role", "replica"},
		{"Instance/db-euw1-az2-1", "capacity", "4krps"},
	}},
	// set lb/dns weights.
	{cmd: "set lb api-lb weight az1=0 az2=100", want: []fieldWant{{"LoadBalancer/api-lb", "targets[az1].weight", "0"}, {"LoadBalancer/api-lb", "targets[az2].weight", "100"}}},
	{cmd: "set dns api.example.com weight use1=0 euw1=100", want: []fieldWant{{"DNSRecord/api.example.com", "answers[use1].weight", "0"}, {"DNSRecord/api.example.com", "answers[euw1].weight", "100"}}},
	{cmd: "set record api.example.com WEIGHT euw1=5", want: []fieldWant{{"DNSRecord/api.example.com", "answers[euw1].weight", "5"}, {"DNSRecord/api.example.com", "answers[use1].weight", "80"}}},
	// Generic set.
	{cmd: "set zone use1-az3 state=down", want: []fieldWant{{"Zone/use1-az3", "state", "down"}}},
	{cmd: "set service billing instanceCapacity=2krps autoscaling.max=12", want: []fieldWant{{"Service/billing", "instanceCapacity", "2krps"}, {"Service/billing", "autoscaling.max", "12"}, {"Service/billing", "autoscaling.min", "2"}}},
	{cmd: "set instance api-1 labels.canary=true", want: []fieldWant{{"Instance/api-1", "labels.canary", `"true"`}, {"Instance/api-1", "labels.env", "prod"}}},
	{cmd: "set lb api-lb targets[az1].zone=use1-az3 targets[1].weight=7", want: []fieldWant{{"LoadBalancer/api-lb", "targets[az1].zone", "use1-az3"}, {"LoadBalancer/api-lb", "targets[az2].weight", "7"}}},
	{cmd: "set prefix dns-anycast announcements[dub1].device=null", want: []fieldWant{{"AnycastPrefix/dns-anycast", "announcements[dub1].device", `""`}}},
	{cmd: "set link iad1-dub1 capacity=40Gbps cost=20", want: []fieldWant{{"Link/iad1-dub1", "capacity", "40Gbps"}, {"Link/iad1-dub1", "cost", "20"}}},
	// withdraw / announce.
	{cmd: "withdraw prefix 203.0.113.0/24 site=iad1", want: []fieldWant{{"AnycastPrefix/dns-anycast", "announcements[iad1].state", "withdrawn"}, {"AnycastPrefix/dns-anycast", "announcements[dub1].state", `""`}}},
	{cmd: "withdraw prefix 203.0.113.0/24", want: []fieldWant{{"AnycastPrefix/dns-anycast", "announcements[iad1].state", "withdrawn"}, {"AnycastPrefix/dns-anycast", "announcements[dub1].state", "withdrawn"}}},
	{cmd: "withdraw prefix dns-anycast", want: []fieldWant{{"AnycastPrefix/dns-anycast", "announcements[iad1].state", "withdrawn"}, {"AnycastPrefix/dns-anycast", "announcements[dub1].state", "withdrawn"}}},
	{cmd: "announce prefix dns-anycast site=dub1", want: []fieldWant{{"AnycastPrefix/dns-anycast", "announcements[dub1].state", "announced"}, {"AnycastPrefix/dns-anycast", "announcements[iad1].state", `""`}}},
	{cmd: "announce anycast 203.0.113.0/24", want: []fieldWant{{"AnycastPrefix/dns-anycast", "announcements[iad1].state", "announced"}}},
	// scale.
	{cmd: "scale service=billing min=3 max=10", want: []fieldWant{{"Service/billing", "autoscaling.min", "3"}, {"Service/billing", "autoscaling.max", "10"}}},
	{cmd: "scale service billing min=1", want: []fieldWant{{"Service/billing", "autoscaling.min", "1"}, {"Service/billing", "autoscaling.max", "8"}}},
	// Whole numbers are decimal, whatever their leading zeros.
	{cmd: "set lb api-lb weight az1=010", want: []fieldWant{{"LoadBalancer/api-lb", "targets[az1].weight", "10"}}},
	{cmd: "scale service=billing min=03 max=010", want: []fieldWant{{"Service/billing", "autoscaling.min", "3"}, {"Service/billing", "autoscaling.max", "10"}}},
	{cmd: "scale service=api max=4", want: []fieldWant{{"Service/api", "autoscaling.max", "4"}, {"Service/api", "autoscaling.min", "0"}}},
}

func TestCompileAndApply(t *testing.T) {
	for _, tc := range commandTests {
		t.Run(tc.cmd, func(t *testing.T) {
			ops, err := Compile(tc.cmd)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			wantOps := max(tc.ops, 1)
			if len(ops) != wantOps {
				t.Fatalf("compiled %d operations, want %d", len(ops), wantOps)
			}
			for _, op := range ops {
				if op.Command != strings.Join(strings.Fields(tc.cmd), " ") {
					t.Errorf("op.Command = %q", op.Command)
				}
				if op.Pos.File != "command" || op.Pos.Line != 1 || op.Pos.Col != 1 {
					t.Errorf("op.Pos = %v", op.Pos)
				}
			}
			before := loadFixture(t)
			res, err := Apply(before, &ChangeSet{Source: "command", Operations: ops})
			if err != nil {
				t.Fatalf("Apply:\n%v", err)
			}
			for _, w := range tc.want {
				if got := field(t, res.After, w.ref, w.path); got != w.value {
					t.Errorf("%s %s = %s, want %s", w.ref, w.path, got, w.value)
				}
			}
			if len(res.Touched) == 0 {
				t.Error("no object touched")
			}
		})
	}
}

// TestCompileOperations checks the operations a few commands compile to.
func TestCompileOperations(t *testing.T) {
	tests := []struct {
		cmd, want string
	}{
		{"drain zone use1-az1", "set Zone use1-az1 sel= count=0 path= fields=state:drained"},
		{"drain instances service=api zone!=use1-az1 count=1", "set Instance  sel=service=api,zone!=use1-az1 count=1 path= fields=state:drained"},
		{"remove instances role=replica", "remove Instance  sel=role=replica count=0 path= fields="},
		{"withdraw prefix 203.0.113.0/24 site=iad1", "set AnycastPrefix  sel=prefix=203.0.113.0/24 count=0 path= fields=announcements[site=iad1].state:withdrawn"},
		{"announce prefix dns-anycast", "set AnycastPrefix dns-anycast sel= count=0 path= fields=announcements[*].state:announced"},
		{"set lb api-lb weight az1=3", "set LoadBalancer api-lb sel= count=0 path= fields=targets[az1].weight:3"},
		{"set lb api-lb weight 0=3", "set LoadBalancer api-lb sel= count=0 path= fields=targets[name=0].weight:3"},
		{"scale service api min=1 max=2", "set Service api sel= count=0 path= fields=autoscaling.min:1,autoscaling.max:2"},
	}
	for _, tc := range tests {
		ops, err := Compile(tc.cmd)
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.cmd, err)
			continue
		}
		if len(ops) != 1 {
			t.Errorf("Compile(%q): %d ops", tc.cmd, len(ops))
			continue
		}
		op := ops[0]
		var fields []string
		for _, f := range op.Fields {
			v, _ := scalarOf(f.Value)
			fields = append(fields, f.Path+":"+v)
		}
		got := strings.Join([]string{op.Op, op.Kind, op.Name, "sel=" + op.Selector.String(), "count=" + strconv.Itoa(op.Count), "path=" + op.Path, "fields=" + strings.Join(fields, ",")}, " ")
		if got != tc.want {
			t.Errorf("Compile(%q)\n got %s\nwant %s", tc.cmd, got, tc.want)
		}
	}
}

var commandErrorTests = []struct {
	cmd  string
	at   string // the offending word (its first occurrence); "" means the end of the command
	want string // part of the message
}{
	{"", "", "empty command"},
	{"   ", "", "empty command"},
	{"drian zone use1-az1", "drian", `unknown verb "drian" (did you mean "drain"?)`},
	{"explode zone use1-az1", "explode", `unknown verb "explode": verbs are drain`},
	{"drain", "", "drain what?"},
	{"drain zoen use1-az1", "zoen", `unknown noun "zoen" (did you mean "zone"?)`},
	{"drain gizmo x", "gizmo", `unknown noun "gizmo"`},
	{"drain zone", "", "which ones?"},
	{"drain lb api-lb", "lb", "drain works on zones, sites, devices, links and instances, not lb"},
	{"shutdown service billing", "service", "not service"},
	{"drain zone use1-az1 region=us-east-1", "use1-az1", "give a name or a selector, not both"},
	{"drain zone use1-az1 count=1", "use1-az1", "count limits a selector"},
	{"drain instances service=api count=0", "count=0", `count must be a whole number above 0, got "0"`},
	{"drain instances service=api count=x", "count=x", `count must be a whole number above 0, got "x"`},
	{"drain instances service=api count=-2", "count=-2", "count must be a whole number above 0"},
	{"drain instances count=2", "", "which ones?"},
	{"drain zone a b", "b", `selector term "b": write key=value`},
	{"drain instances service=", "service=", "write key=value or key!=value"},
	{"drain instances =api", "=api", "write key=value or key!=value"},
	{"remove", "", "remove what?"},
	{"remove zonez use1-az1", "zonez", `(did you mean "zone"?)`},
	{"remove instances", "", "which ones?"},
	{"remove instance api-1 count=1", "api-1", "count limits a selector"},
	{"add zone use1-az4", "zone", "add works on instances"},
	{"add instances service=api", "", "add instances needs zone="},
	{"add instances zone=use1-az1", "", "add instances needs service="},
	{"add instances service=api zone=use1-az1 count=0", "count=0", "count must be a whole number from 1 to 10000"},
	{"add instances service=api zone=use1-az1 count=10001", "count=10001", "count must be a whole number from 1 to 10000"},
	{"add instances service=api zone=use1-az1 colour=blue", "colour=blue", `unknown parameter "colour"`},
	{"add instances service=api zone!=use1-az1", "zone!=use1-az1", "write key=value"},
	{"add instances service=api api", "api", "write key=value"},
	{"set", "", "set what?"},
	{"set zone", "", "set zone needs a name"},
	{"set lb state=drained", "state=drained", "set lb needs a name"},
	{"set zone use1-az1", "", "set what? add field=value"},
	{"set lb api-lb weight", "", "set what?"},
	{"set zone use1-az1 weight a=1", "weight", "weight applies to lb and dns"},
	{"set service billing weight a=1", "weight", "weight applies to lb and dns"},
	{"set lb api-lb weight az1=heavy", "az1=heavy", `weight must be a whole number, got "heavy"`},
	{"set lb api-lb weight az1=1 az2=", "az2=", "write field=value"},
	{"set lb api-lb foo", "foo", "write field=value"},
	{"set zone use1-az1 =drained", "=drained", "write field=value"},
	{"set zone use1-az1 a..b=1", "a..b=1", "empty field name"},
	{"set zone use1-az1 a[x=1", "a[x=1", "missing ]"},
	{"set zone use1-az1 state=[", "state=[", "is not valid"},
	{"set thing x a=1", "thing", `unknown noun "thing"`},
	{"withdraw", "", "withdraw what?"},
	{"withdraw zone use1-az1", "zone", "withdraw works on prefixes"},
	{"withdraw prefix", "", "withdraw which prefix?"},
	{"announce prefix site=iad1", "site=iad1", "announce which prefix?"},
	{"withdraw prefix 203.0.113.1/24", "203.0.113.1/24", "prefix 203.0.113.1/24 has host bits set; did you mean 203.0.113.0/24?"},
	{"withdraw prefix dns-anycast zone=use1-az1", "zone=use1-az1", "withdraw takes only site=SITE"},
	{"withdraw prefix dns-anycast site!=iad1", "site!=iad1", "withdraw takes only site=SITE"},
	{"withdraw prefix dns-anycast iad1", "iad1", "withdraw takes only site=SITE"},
	{"announce prefix dns-anycast site=iad1 site=dub1", "site=dub1", "site given twice"},
	{"scale", "", "scale which service?"},
	{"scale min=2", "", "scale which service?"},
	{"scale service=api", "", "scale to what?"},
	{"scale service api", "", "scale to what?"},
	{"scale service=api min=-1", "min=-1", `min must be a whole number, got "-1"`},
	{"scale service=api max=lots", "max=lots", `max must be a whole number, got "lots"`},
	{"scale service=api min=2 replicas=3", "replicas=3", `unknown parameter "replicas"`},
	{"scale service=api service=db min=1", "service=db", "service given twice"},
	{"scale service api service=db min=1", "service=db", "service given twice"},
	{"scale api min=1", "api", "write key=value"},
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range commandErrorTests {
		t.Run(tc.cmd, func(t *testing.T) {
			ops, err := Compile(tc.cmd)
			if err == nil {
				t.Fatalf("Compile succeeded with %d operations, want an error", len(ops))
			}
			l := errorList(t, err)
			if len(l) != 1 {
				t.Fatalf("%d errors, want 1:\n%v", len(l), err)
			}
			e := l[0]
			wantCol := len(tc.cmd) + 1
			if tc.at != "" {
				wantCol = wordCol(tc.cmd, tc.at)
			}
			if e.Pos.File != "command" || e.Pos.Line != 1 || e.Pos.Col != wantCol {
				t.Errorf("position %s, want command:1:%d", e.Pos, wantCol)
			}
			if !strings.Contains(e.Msg, tc.want) {
				t.Errorf("message %q does not contain %q", e.Msg, tc.want)
			}
		})
	}
}

// wordCol returns the 1-based column of the first whole word w in cmd.
func wordCol(cmd, w string) int {
	for i := 0; i+len(w) <= len(cmd); i++ {
		if cmd[i:i+len(w)] != w {
			continue
		}
		if (i == 0 || cmd[i-1] == ' ' || cmd[i-1] == '\t') && (i+len(w) == len(cmd) || cmd[i+len(w)] == ' ' || cmd[i+len(w)] == '\t') {
			return i + 1
		}
	}
	return -1
}

// TestCompileAtOffsets checks that a command written inside a file reports
// errors at the file position of the offending word.
func TestCompileAtOffsets(t *testing.T) {
	pos := twin.Pos{File: "changes.yaml", Line: 7, Col: 5}
	_, err := CompileAt("drain zoen use1-az1", pos)
	l := errorList(t, err)
	if got := l[0].Pos; got.File != "changes.yaml" || got.Line != 7 || got.Col != 11 {
		t.Errorf("position %s, want changes.yaml:7:11", got)
	}
	ops, err := CompileAt("drain zone use1-az1", pos)
	if err != nil {
		t.Fatal(err)
	}
	if ops[0].Pos != pos {
		t.Errorf("op position %s, want %s", ops[0].Pos, pos)
	}
}

// TestCompiledOpsApplyErrors checks commands that compile but name what
// the twin does not have.
func TestCompiledOpsApplyErrors(t *testing.T) {
	tests := []struct{ cmd, want string }{
		{"drain zone use1-az4", `Zone "use1-az4" does not exist (did you mean "use1-az1"?)`},
		{"drain instances service=bliling", "selector service=bliling matches no Instance"},
		{"drain instances service=billing count=5", "count=5 but selector service=billing matches only 4 Instance objects"},
		{"set lb api-lb weight az3=1", `no element [az3] (did you mean [az1]?)`},
		{"set lb api-lb algoritm=weighted", `no field "algoritm" (did you mean "algorithm"?)`},
		{"set zone use1-az1 state=[a,b]", "Zone use1-az1, field state: expected a string, found a list"},
		{"set zone use1-az1 state=sleeping", `state "sleeping" is not valid`},
		{"withdraw prefix 198.51.100.0/24", "selector prefix=198.51.100.0/24 matches no AnycastPrefix"},
		{"withdraw prefix dns-anycast site=fra-pop", "no element [site=fra-pop]"},
		{"add instances service=api zone=use1-az9", `zone "use1-az9" does not exist`},
		{"add instances service=api zone=use1-az1 capacity=fast", `invalid rate "fast"`},
		{"scale service=payroll min=1", `Service "payroll" does not exist`},
		{"scale service=billing min=20", "min 20 is more than max 8"},
		{"remove zone use1-az3", `after the change: zone "use1-az3" does not exist`}, // billing-3 is there
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			cs := mustCompile(t, tc.cmd)
			_, err := Apply(loadFixture(t), cs)
			if err == nil {
				t.Fatal("Apply succeeded, want an error")
			}
			l := errorList(t, err)
			if !strings.Contains(l.Error(), tc.want) {
				t.Errorf("error\n%v\ndoes not contain %q", err, tc.want)
			}
		})
	}
}
