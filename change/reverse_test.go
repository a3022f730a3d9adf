package change

import (
	"testing"

	"github.com/preflight-sh/preflight/twin"
)

func TestReverseRestoresTheTwin(t *testing.T) {
	s, err := twin.Load("../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{
		"drain zone use1-az2",
		"remove instances service=billing count=4",
		"set lb api-lb weight us-east-1=0",
		"add instances service=api zone=use1-az1 count=3",
		"set service api instanceCapacity=4krps",
		"withdraw anycast dns-anycast-v4 site=fra-pop",
	} {
		ops, err := Compile(cmd)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(s, &ChangeSet{Title: cmd, Operations: ops})
		if err != nil {
			t.Fatal(err)
		}
		rev, err := Reverse(res)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		back, err := Apply(res.After, rev)
		if err != nil {
			t.Fatalf("%s: the rollback does not apply: %v", cmd, err)
		}
		ok, err := Restores(res, back)
		if err != nil || !ok {
			t.Fatalf("%s: the rollback does not restore the twin (%v)", cmd, err)
		}
		diff, err := Diff(back.After, s)
		if err != nil || len(diff.Operations) != 0 {
			t.Fatalf("%s: after rollback the twin differs: %+v", cmd, diff.Operations)
		}
	}
}
