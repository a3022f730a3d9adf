package rollback

import (
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/twin"
)

const small = `kind: Region
name: r1
---
kind: Zone
name: z1
region: r1
---
kind: Service
name: db
instanceCapacity: 100rps
stateful: true
---
kind: Service
name: web
instanceCapacity: 100rps
---
{kind: Instance, name: db-1, service: db, zone: z1, role: primary}
---
{kind: Instance, name: web-1, service: web, zone: z1}
---
{kind: Instance, name: web-2, service: web, zone: z1, role: primary}
`

func plan(t *testing.T, cmd string, flags ...string) (*Plan, []string) {
	t.Helper()
	s, err := twin.LoadFiles(map[string][]byte{"twin.yaml": []byte(small)})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := change.Compile(cmd)
	if err != nil {
		t.Fatal(err)
	}
	res, err := change.Apply(s, &change.ChangeSet{Title: cmd, Operations: ops, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	p, fs, err := Build(res)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ID)
	}
	return p, ids
}

func TestPlans(t *testing.T) {
	for _, c := range []struct {
		cmd          string
		flags        []string
		irreversible string
	}{
		{"drain instance web-1", nil, ""},
		{"remove instance web-1", nil, ""},
		{"remove instance db-1", nil, "stateful service db"},
		{"remove instance web-2", nil, "primary instance web-2"},
		{"set service web instanceCapacity=200rps", []string{OneWay}, "flagged one-way"},
	} {
		p, ids := plan(t, c.cmd, c.flags...)
		if !p.Verified {
			t.Errorf("%s: rollback not verified: %s", c.cmd, p.Why)
		}
		got := strings.Join(p.Irreversible, "; ")
		if (c.irreversible == "") != (got == "") || !strings.Contains(got, c.irreversible) {
			t.Errorf("%s: irreversible %q, want %q (findings %v)", c.cmd, got, c.irreversible, ids)
		}
		if c.irreversible != "" && (len(ids) != 1 || ids[0] != "rollback.irreversible") {
			t.Errorf("%s: findings %v", c.cmd, ids)
		}
		if len(p.Change.Operations) == 0 {
			t.Errorf("%s: empty rollback", c.cmd)
		}
	}
}
