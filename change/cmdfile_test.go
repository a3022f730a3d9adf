package change

import (
	"strings"
	"testing"
)

func TestParseCommandFile(t *testing.T) {
	cs, err := ParseCommandFile("x.cmd", []byte("# take two hosts out\n\nremove instances fleet=s3 count=2\n  drain zone use1-az2  \n"))
	if err != nil {
		t.Fatal(err)
	}
	if cs.Title != "remove instances fleet=s3 count=2" || len(cs.Operations) != 2 || cs.Operations[1].Pos.Line != 4 {
		t.Fatalf("%+v", cs)
	}
	for src, want := range map[string]string{
		"# nothing\n":                 "x.cmd:1:1: the command file holds no command",
		"drain zone a\nexplode all\n": "x.cmd:2:",
	} {
		if _, err := ParseCommandFile("x.cmd", []byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", src, err, want)
		}
	}
}

func FuzzCommandFile(f *testing.F) {
	f.Add("# comment\nremove instances service=billing count=4\n")
	f.Add("drain zone use1-az2\nset lb api-lb weight us-east-1=0\n")
	f.Fuzz(func(t *testing.T, src string) {
		cs, err := ParseCommandFile("fuzz.cmd", []byte(src))
		if err == nil && len(cs.Operations) == 0 {
			t.Fatal("no error and no operation")
		}
	})
}
