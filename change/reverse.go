package change

import (
	"fmt"

	"github.com/preflight-sh/preflight/twin"
)

// Reverse returns the change set that undoes a result: it removes what the
// change added, adds back what it removed, and sets every changed field
// back, touching nothing else.
func Reverse(res *Result) (*ChangeSet, error) {
	before, after := touchedObjects(res, res.Before), touchedObjects(res, res.After)
	cs, err := Diff(twin.NewSnapshot(after), twin.NewSnapshot(before))
	if err != nil {
		return nil, err
	}
	cs.Title = "Roll back: " + res.Change.Title
	cs.Reason = fmt.Sprintf("undoes %d object change(s) of %q", len(res.Touched), res.Change.Title)
	cs.Source = "rollback"
	return cs, nil
}

// touchedObjects are the objects of s the result touched.
func touchedObjects(res *Result, s *twin.Snapshot) []twin.Object {
	var out []twin.Object
	for _, t := range res.Touched {
		if o := s.Get(t.Kind, t.Name); o != nil {
			out = append(out, o)
		}
	}
	return out
}

// Restores reports whether applying rollback to the result's after
// snapshot gives back exactly the objects the change touched, as they were.
func Restores(res *Result, rollback *Result) (bool, error) {
	left := touchedObjects(res, rollback.After)
	cs, err := Diff(twin.NewSnapshot(left), twin.NewSnapshot(touchedObjects(res, res.Before)))
	if err != nil {
		return false, err
	}
	return len(cs.Operations) == 0, nil
}
