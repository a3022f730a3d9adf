package check_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/twin"
)

// TestReportJSONRoundTrip: a report stored as JSON (as the review service
// stores it) decodes back to the same blast radius, findings, operations
// and rollback, values included.
func TestReportJSONRoundTrip(t *testing.T) {
	s, err := twin.Load("../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := change.LoadFile("../examples/shop/changes/04-remove-billing-hosts-typo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := check.Run("shop", s, cs, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got check.Report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	b2, err := json.Marshal(&got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Errorf("the report does not round-trip: %d bytes, then %d", len(b), len(b2))
	}
	// The blast radius's twins before and after are not in the JSON; what
	// the page shows is.
	if !reflect.DeepEqual(got.BlastRadius.Services, rep.BlastRadius.Services) || len(got.BlastRadius.Touched) != len(rep.BlastRadius.Touched) ||
		len(got.BlastRadius.Touched) == 0 {
		t.Errorf("blast radius differs")
	}
	for i, tc := range rep.BlastRadius.Touched {
		if g := got.BlastRadius.Touched[i]; g.Kind != tc.Kind || g.Name != tc.Name || g.Action != tc.Action || g.Pos != tc.Pos {
			t.Errorf("touched %d: got %s %s %s %s, want %s %s %s %s", i, g.Kind, g.Name, g.Action, g.Pos, tc.Kind, tc.Name, tc.Action, tc.Pos)
		}
	}
	if !reflect.DeepEqual(got.Findings, rep.Findings) {
		t.Errorf("findings differ")
	}
	if len(got.Findings) == 0 || got.Rollback == nil || len(got.Operations) == 0 {
		t.Fatalf("expected findings, rollback and operations; got %d, %v, %d", len(got.Findings), got.Rollback, len(got.Operations))
	}
	if len(got.Operations) != len(rep.Operations) {
		t.Fatalf("operations: got %d, want %d", len(got.Operations), len(rep.Operations))
	}
	for i, op := range rep.Operations {
		g := got.Operations[i]
		if g.Op != op.Op || g.Kind != op.Kind || g.Name != op.Name || g.Path != op.Path || len(g.Fields) != len(op.Fields) {
			t.Errorf("operation %d: got %+v, want %+v", i, g, op)
			continue
		}
		for j, f := range op.Fields {
			if g.Fields[j].Path != f.Path || g.Fields[j].Value.Text() != f.Value.Text() {
				t.Errorf("operation %d field %d: got %s=%s, want %s=%s", i, j, g.Fields[j].Path, g.Fields[j].Value.Text(), f.Path, f.Value.Text())
			}
		}
	}
	rb1, _ := json.Marshal(rep.Rollback)
	rb2, _ := json.Marshal(got.Rollback)
	if !bytes.Equal(rb1, rb2) || got.Rollback.Verified != rep.Rollback.Verified {
		t.Errorf("rollback differs:\n%s\n%s", rb1, rb2)
	}
}
