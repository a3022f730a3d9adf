package yamldecode_test

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/preflight-sh/preflight/units"
	"github.com/preflight-sh/preflight/yamldecode"
)

// The types a test document is decoded into. Field names come from the json
// tags; fields without omitempty are required.
type (
	header struct {
		Kind string `json:"kind"`
	}
	item struct {
		Name string `json:"name"`
		Port int    `json:"port,omitempty"`
	}
	nested struct {
		Inner item   `json:"inner"`
		Limit int64  `json:"limit,omitempty"`
		Items []item `json:"items,omitempty"`
	}
	config struct {
		header  `json:",inline"`
		Name    string            `json:"name"`
		Count   int               `json:"count,omitempty"`
		Small   int32             `json:"small,omitempty"`
		ASN     uint32            `json:"asn,omitempty"`
		Big     uint64            `json:"big,omitempty"`
		Ratio   float64           `json:"ratio,omitempty"`
		Enabled bool              `json:"enabled,omitempty"`
		Rate    units.Rate        `json:"rate,omitempty"`
		MaxRate *units.Rate       `json:"maxRate,omitempty"`
		Prefix  netip.Prefix      `json:"prefix,omitempty"`
		Labels  map[string]string `json:"labels,omitempty"`
		Items   []item            `json:"items,omitempty"`
		Nested  *nested           `json:"nested,omitempty"`
		Ignored string            `json:"-"`
		hidden  string
	}
)

const file = "c.yaml"

// parse parses YAML text with goccy's parser (which rejects duplicate keys
// unless dups) and returns the body of its only document.
func parse(t *testing.T, src string, dups bool) ast.Node {
	t.Helper()
	var opts []parser.Option
	if dups {
		opts = append(opts, parser.AllowDuplicateMapKey())
	}
	f, err := parser.ParseBytes([]byte(src), 0, opts...)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	if len(f.Docs) != 1 {
		t.Fatalf("parse %q: %d documents", src, len(f.Docs))
	}
	return f.Docs[0].Body
}

func lines(l yamldecode.ErrorList) []string {
	var out []string
	for _, e := range l {
		out = append(out, e.Error())
	}
	return out
}

// matchLines compares error lines; a wanted line ending in "*" matches any
// line that starts with the rest of it.
func matchLines(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if w, ok := strings.CutSuffix(want[i], "*"); ok {
			if !strings.HasPrefix(got[i], w) {
				return false
			}
		} else if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		opts yamldecode.Options
		dups bool // parse allowing duplicate keys
		want []string
	}{
		{
			name: "valid",
			src:  "kind: X\nname: a\n",
		},
		{
			name: "unknown top-level field with did-you-mean",
			src:  "kind: X\nname: a\nconut: 3\n",
			want: []string{`c.yaml:3:1: unknown field "conut" (did you mean "count"?)`},
		},
		{
			name: "unknown field is case-insensitively matched",
			src:  "kind: X\nName: a\n",
			want: []string{
				`c.yaml:1:1: missing required field "name"`,
				`c.yaml:2:1: unknown field "Name" (did you mean "name"?)`,
			},
		},
		{
			name: "unknown field without a close name lists the fields",
			src:  "kind: X\nname: a\nzzzzzz: 1\n",
			want: []string{`c.yaml:3:1: unknown field "zzzzzz" (known fields: kind, name, count, small, asn, big, ratio, enabled, rate, maxRate, prefix, labels, items, nested)`},
		},
		{
			name: "unknown nested field in a list element",
			src:  "kind: X\nname: a\nitems:\n  - name: i\n    prot: 80\n",
			want: []string{`c.yaml:5:5: unknown field "prot" in items[0] (did you mean "port"?)`},
		},
		{
			name: "unknown field deep in a struct",
			src:  "kind: X\nname: a\nnested:\n  inner:\n    name: i\n    nmae: j\n",
			want: []string{`c.yaml:6:5: unknown field "nmae" in nested.inner (did you mean "name"?)`},
		},
		{
			name: "missing required fields, top level and nested, at the mapping's first key",
			src:  "count: 1\nnested:\n  limit: 5\n  items:\n    - port: 1\n",
			want: []string{
				`c.yaml:1:1: missing required field "kind"`,
				`c.yaml:1:1: missing required field "name"`,
				`c.yaml:3:3: missing required field "nested.inner"`,
				`c.yaml:5:7: missing required field "nested.items[0].name"`,
			},
		},
		{
			name: "a field set to null counts as present",
			src:  "kind: X\nname:\n",
		},
		{
			name: "whole numbers",
			src:  "kind: X\nname: a\ncount: abc\nsmall: 2147483648\nasn: 4294967296\nbig: -1\n",
			want: []string{
				`c.yaml:3:8: count: expected a whole number, found "abc"`,
				`c.yaml:4:8: small: expected a whole number, found "2147483648"`,
				`c.yaml:5:6: asn: expected a whole number from 0 to 4294967295, found "4294967296"`,
				`c.yaml:6:6: big: expected a whole number from 0 to 18446744073709551615, found "-1"`,
			},
		},
		{
			name: "whole number written as a float, a quoted string, a bool or a list",
			src:  "kind: X\nname: a\ncount: 1.5\nsmall: \"7\"\nasn: true\nbig: [1]\n",
			want: []string{
				`c.yaml:3:8: count: expected a whole number, found "1.5"`,
				`c.yaml:4:8: small: expected a whole number, found "7"`,
				`c.yaml:5:6: asn: expected a whole number from 0 to 4294967295, found "true"`,
				`c.yaml:6:6: big: expected a whole number from 0 to 18446744073709551615, found a list`,
			},
		},
		{
			name: "numbers",
			src:  "kind: X\nname: a\nratio: fast\n",
			want: []string{`c.yaml:3:8: ratio: expected a number, found "fast"`},
		},
		{
			name: "infinity is not a number here",
			src:  "kind: X\nname: a\nratio: .inf\n",
			want: []string{`c.yaml:3:8: ratio: expected a number, found ".inf"`},
		},
		{
			name: "bools",
			src:  "kind: X\nname: a\nenabled: yes\n",
			want: []string{`c.yaml:3:10: enabled: expected true or false, found a string`},
		},
		{
			name: "bool from a number",
			src:  "kind: X\nname: a\nenabled: 1\n",
			want: []string{`c.yaml:3:10: enabled: expected true or false, found a number`},
		},
		{
			name: "string from a mapping or a list",
			src:  "kind: [X]\nname: {first: a}\n",
			want: []string{
				`c.yaml:1:7: kind: expected a string, found a list`,
				`c.yaml:2:7: name: expected a string, found a mapping`,
			},
		},
		{
			name: "containers of the wrong shape",
			src:  "kind: X\nname: a\nlabels: [a]\nitems: one\nnested: 5\n",
			want: []string{
				`c.yaml:3:9: labels: expected a mapping, found a list`,
				`c.yaml:4:8: items: expected a list, found a string`,
				`c.yaml:5:9: nested: expected a mapping of fields, found a number`,
			},
		},
		{
			name: "a document that is not a mapping",
			src:  "- a\n- b\n",
			want: []string{`c.yaml:1:1: value: expected a mapping of fields, found a list`},
		},
		{
			name: "text unmarshaler errors at the value",
			src:  "kind: X\nname: a\nrate: 100\nmaxRate: 5 qps\n",
			want: []string{
				`c.yaml:3:7: rate: rate "100" has no unit: write it with one, e.g. 2000rps`,
				`c.yaml:4:10: maxRate: invalid rate "5 qps": unknown unit (write e.g. 2000rps; units: rps, krps, Mrps)`,
			},
		},
		{
			name: "text unmarshaler given a mapping",
			src:  "kind: X\nname: a\nrate: {value: 5}\n",
			want: []string{`c.yaml:3:7: rate: expected a single value, found a mapping`},
		},
		{
			name: "library errors lose their Go prefix",
			src:  "kind: X\nname: a\nprefix: 10.0.0.0/33\n",
			// The rest of the message is the standard library's.
			want: []string{`c.yaml:3:9: prefix: invalid address or prefix ("10.0.0.0/33"): *`},
		},
		{
			name: "duplicate struct field",
			src:  "kind: X\nname: a\nname: b\n",
			dups: true,
			want: []string{`c.yaml:3:1: field "name" appears twice`},
		},
		{
			name: "duplicate nested field and map key",
			src:  "kind: X\nname: a\nlabels:\n  a: x\n  a: y\nnested:\n  inner: {name: i}\n  limit: 1\n  limit: 2\n",
			dups: true,
			want: []string{
				`c.yaml:5:3: labels: key "a" appears twice`,
				`c.yaml:9:3: field "nested.limit" appears twice`,
			},
		},
		{
			name: "anchors and aliases",
			src:  "kind: &k X\nname: *k\nitems:\n  - &it {name: i, port: 1}\n  - *it\n",
		},
		{
			name: "alias before its anchor",
			src:  "kind: X\nname: *later\nlabels: {a: &later b}\n",
			want: []string{`c.yaml:2:7: alias *later refers to no anchor defined before it`},
		},
		{
			name: "tags are rejected",
			src:  "kind: X\nname: !!str a\ncount: !custom 3\n",
			want: []string{
				`c.yaml:2:7: YAML tags such as !!str are not supported: remove the tag`,
				`c.yaml:3:8: YAML tags such as !custom are not supported: remove the tag`,
			},
		},
		{
			name: "merge keys are rejected",
			src:  "kind: X\nname: a\nitems:\n  - &base {name: i, port: 1}\n  - <<: *base\n    port: 2\n",
			want: []string{
				`c.yaml:5:5: merge keys (<<) are not supported: write the fields out`,
				`c.yaml:5:5: missing required field "items[1].name"`,
			},
		},
		{
			name: "a key that is not a plain string",
			src:  "kind: X\nname: a\nitems: [&m {name: i}]\nlabels:\n  *m : c\n",
			want: []string{`c.yaml:5:3: mapping keys must be plain strings`},
		},
		{
			name: "partial skips required fields",
			src:  "count: 1\nnested:\n  limit: 5\n",
			opts: yamldecode.Options{Partial: true},
		},
		{
			name: "partial still reports other errors",
			src:  "count: x\nnmae: a\n",
			opts: yamldecode.Options{Partial: true},
			want: []string{
				`c.yaml:1:8: count: expected a whole number, found "x"`,
				`c.yaml:2:1: unknown field "nmae" (did you mean "name"?)`,
			},
		},
		{
			name: "skipped keys are neither read nor required",
			src:  "kind: X\noperations: [{anything: 1}]\n",
			opts: yamldecode.Options{Skip: map[string]bool{"operations": true, "name": true}},
		},
		{
			name: "skipped keys are suggested",
			src:  "kind: X\nname: a\noperatons: []\n",
			opts: yamldecode.Options{Skip: map[string]bool{"operations": true}},
			want: []string{`c.yaml:3:1: unknown field "operatons" (did you mean "operations"?)`},
		},
		{
			name: "skipped keys are listed with the known fields",
			src:  "kind: X\nname: a\nzzzzzz: []\n",
			opts: yamldecode.Options{Skip: map[string]bool{"zeta": true, "alpha": true}},
			want: []string{`c.yaml:3:1: unknown field "zzzzzz" (known fields: kind, name, count, small, asn, big, ratio, enabled, rate, maxRate, prefix, labels, items, nested, alpha, zeta)`},
		},
		{
			name: "skip applies at the top level only",
			src:  "kind: X\nname: a\nnested:\n  inner: {name: i}\n  extra: 1\n",
			opts: yamldecode.Options{Skip: map[string]bool{"extra": true}},
			want: []string{`c.yaml:5:3: unknown field "extra" in nested (known fields: inner, limit, items)`},
		},
		{
			name: "every error at once, sorted by position",
			src:  "nmae: a\ncount: x\nasn: -5\nitems:\n  - port: y\n",
			want: []string{
				`c.yaml:1:1: missing required field "kind"`,
				`c.yaml:1:1: missing required field "name"`,
				`c.yaml:1:1: unknown field "nmae" (did you mean "name"?)`,
				`c.yaml:2:8: count: expected a whole number, found "x"`,
				`c.yaml:3:6: asn: expected a whole number from 0 to 4294967295, found "-5"`,
				`c.yaml:5:5: missing required field "items[0].name"`,
				`c.yaml:5:11: items[0].port: expected a whole number, found "y"`,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			opts.File = file
			var v config
			got := yamldecode.Decode(parse(t, c.src, c.dups), &v, opts)
			if !matchLines(lines(got), c.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(lines(got), "\n"), strings.Join(c.want, "\n"))
			}
			if (got.Err() == nil) != (len(c.want) == 0) {
				t.Errorf("Err() = %v with %d errors", got.Err(), len(got))
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	src := `kind: X
name: a
count: 42
small: -7
asn: 4294967295
big: 18446744073709551615
ratio: 0.25
enabled: true
rate: 2.5krps
maxRate: 1Mrps
prefix: 10.1.0.0/16
labels: {team: web, tier: "1"}
items:
  - name: i
    port: 80
  - name: j
nested:
  inner: {name: n}
  limit: 9
  items: [{name: x}]
`
	var got config
	if errs := yamldecode.Decode(parse(t, src, false), &got, yamldecode.Options{File: file}); len(errs) > 0 {
		t.Fatalf("errors:\n%v", errs)
	}
	maxRate := units.Rate(1e6)
	want := config{
		header:  header{Kind: "X"},
		Name:    "a",
		Count:   42,
		Small:   -7,
		ASN:     4294967295,
		Big:     18446744073709551615,
		Ratio:   0.25,
		Enabled: true,
		Rate:    2500,
		MaxRate: &maxRate,
		Prefix:  netip.MustParsePrefix("10.1.0.0/16"),
		Labels:  map[string]string{"team": "web", "tier": "1"},
		Items:   []item{{Name: "i", Port: 80}, {Name: "j"}},
		Nested:  &nested{Inner: item{Name: "n"}, Limit: 9, Items: []item{{Name: "x"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

// TestDecodeIntegers checks YAML 1.2 integers: a leading zero is not octal.
func TestDecodeIntegers(t *testing.T) {
	cases := []struct {
		text string
		want int
	}{
		{"10", 10},
		{"010", 10},
		{"-010", -10},
		{"+010", 10},
		{"00", 0},
		{"0", 0},
		{"0o10", 8},
		{"0x10", 16},
		{"-7", -7},
		{"+7", 7},
	}
	for _, c := range cases {
		var v struct {
			N int    `json:"n"`
			U uint32 `json:"u"`
		}
		src := "n: " + c.text + "\nu: " + strings.TrimPrefix(c.text, "-") + "\n"
		if errs := yamldecode.Decode(parse(t, src, false), &v, yamldecode.Options{File: file}); len(errs) > 0 {
			t.Errorf("%q: %v", c.text, errs)
			continue
		}
		if v.N != c.want {
			t.Errorf("int %q = %d, want %d", c.text, v.N, c.want)
		}
		if want := uint32(max(c.want, -c.want)); v.U != want {
			t.Errorf("uint32 %q = %d, want %d", strings.TrimPrefix(c.text, "-"), v.U, want)
		}
	}
}

// TestDecodeMerges checks that decoding merges into what the value holds:
// mappings key by key, lists and scalars replaced, null clears.
func TestDecodeMerges(t *testing.T) {
	v := config{
		Name:   "old",
		Count:  1,
		Ratio:  0.5,
		Labels: map[string]string{"keep": "k", "over": "o"},
		Items:  []item{{Name: "x"}, {Name: "y"}},
		Nested: &nested{Inner: item{Name: "n", Port: 1}, Limit: 3},
	}
	src := "count: 2\nratio: null\nlabels: {over: new, add: a}\nitems: [{name: z}]\nnested: {inner: {port: 2}}\n"
	if errs := yamldecode.Decode(parse(t, src, false), &v, yamldecode.Options{File: file, Partial: true}); len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := config{
		Name:   "old",
		Count:  2,
		Labels: map[string]string{"keep": "k", "over": "new", "add": "a"},
		Items:  []item{{Name: "z"}},
		Nested: &nested{Inner: item{Name: "n", Port: 2}, Limit: 3},
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("merged\n%+v\nwant\n%+v", v, want)
	}
}

// TestDecodeMapValuesMerge checks that map entries that are structs merge
// with the entry already there.
func TestDecodeMapValuesMerge(t *testing.T) {
	v := map[string]item{"a": {Name: "a", Port: 1}}
	errs := yamldecode.Decode(parse(t, "a: {port: 2}\nb: {name: b}\n", false), &v, yamldecode.Options{File: file, Partial: true})
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := map[string]item{"a": {Name: "a", Port: 2}, "b": {Name: "b"}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got %v, want %v", v, want)
	}
}

// TestDecodeNamedMapKey decodes into a map whose key is a named string
// type.
func TestDecodeNamedMapKey(t *testing.T) {
	type name string
	v := map[name]int{"a": 1}
	errs := yamldecode.Decode(parse(t, "a: 2\nb: 3\n", false), &v, yamldecode.Options{File: file})
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if want := map[name]int{"a": 2, "b": 3}; !reflect.DeepEqual(v, want) {
		t.Errorf("got %v, want %v", v, want)
	}
}

func TestDecodeRecord(t *testing.T) {
	src := `kind: X
name: a
labels:
  team: web
items:
  - name: i
  - name: j
    port: 2
nested:
  inner: {name: n}
  items:
    - name: p
    - name: q
`
	var got []string
	opts := yamldecode.Options{File: file, Record: func(path string, p yamldecode.Pos) {
		got = append(got, path+" @ "+p.String())
	}}
	var v config
	if errs := yamldecode.Decode(parse(t, src, false), &v, opts); len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{
		" @ c.yaml:1:1",
		"kind @ c.yaml:1:7",
		"name @ c.yaml:2:7",
		"labels @ c.yaml:4:3",
		"labels.team @ c.yaml:4:9",
		"items @ c.yaml:6:3",
		"items[0] @ c.yaml:6:5",
		"items[0].name @ c.yaml:6:11",
		"items[1] @ c.yaml:7:5",
		"items[1].name @ c.yaml:7:11",
		"items[1].port @ c.yaml:8:11",
		"nested @ c.yaml:10:3",
		"nested.inner @ c.yaml:10:10",
		"nested.inner.name @ c.yaml:10:17",
		"nested.items @ c.yaml:12:5",
		"nested.items[0] @ c.yaml:12:7",
		"nested.items[0].name @ c.yaml:12:13",
		"nested.items[1] @ c.yaml:13:7",
		"nested.items[1].name @ c.yaml:13:13",
	}
	// A value behind a pointer (nested) is recorded once for the pointer and
	// once for what it points to, with the same path and position.
	got = slices.Compact(got)
	if !slices.Equal(got, want) {
		t.Errorf("recorded:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecodeNeedsPointer(t *testing.T) {
	node := parse(t, "kind: X\n", false)
	for _, v := range []any{config{}, (*config)(nil), nil} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("Decode(%T) did not panic", v)
				}
			}()
			yamldecode.Decode(node, v, yamldecode.Options{})
		}()
	}
}

func TestSuggest(t *testing.T) {
	fields := []string{"name", "kind", "labels", "instanceCapacity", "dependencies"}
	cases := []struct {
		word       string
		candidates []string
		want       string
	}{
		{"nmae", fields, "name"},     // distance 2, limit 2
		{"NAME", fields, "name"},     // case-insensitive match wins at once
		{"Labels", fields, "labels"}, // exact but for case
		{"lables", fields, "labels"}, // transposition: distance 2
		{"instanceCapcity", fields, "instanceCapacity"},
		{"instancecapacty", fields, "instanceCapacity"}, // case ignored in the distance
		{"dependancies", fields, "dependencies"},
		{"depndncs", fields, ""},           // distance 4, limit 8/3 = 2: too far
		{"abcdefghijkl", fields, ""},       // nothing close
		{"x", []string{"a"}, ""},           // distance 1 is the whole word
		{"ab", []string{"cd"}, ""},         // distance 2 is the whole word
		{"ab", []string{"ac"}, "ac"},       // distance 1 of 2
		{"abc", []string{"xyz"}, ""},       // 3 > limit 2
		{"ab", []string{"ay", "ax"}, "ax"}, // ties go to the smaller name
		{"ab", []string{"ax", "ay"}, "ax"}, // whatever the order
		{"name", nil, ""},                  // no candidates
		{"", []string{"a"}, ""},            // nothing to match
		{"timeoutt", []string{"timeout", "time"}, "timeout"},
		{"abcd", []string{"axyz"}, ""},                             // distance 3 > limit 2
		{"abcdefghijkl", []string{"abcdefghwxyz"}, "abcdefghwxyz"}, // distance 4, limit 12/3
		{"abcdefghijkl", []string{"abcdefgvwxyz"}, ""},             // distance 5 > 4
	}
	for _, c := range cases {
		if got := yamldecode.Suggest(c.word, c.candidates); got != c.want {
			t.Errorf("Suggest(%q, %q) = %q, want %q", c.word, c.candidates, got, c.want)
		}
	}
}

func TestErrorListSort(t *testing.T) {
	e := func(f string, l, c int, m string) yamldecode.Error {
		return yamldecode.Error{Pos: yamldecode.Pos{File: f, Line: l, Col: c}, Msg: m}
	}
	l := yamldecode.ErrorList{
		e("b.yaml", 1, 1, "z"),
		e("a.yaml", 10, 1, "x"),
		e("a.yaml", 2, 5, "x"),
		e("a.yaml", 2, 3, "y"),
		e("a.yaml", 2, 3, "b"),
		e("a.yaml", 2, 5, "x"),
		e("a.yaml", 10, 1, "x"),
		e("a.yaml", 2, 3, "y"),
	}
	l.Sort()
	want := []string{
		"a.yaml:2:3: b",
		"a.yaml:2:3: y",
		"a.yaml:2:5: x",
		"a.yaml:10:1: x",
		"b.yaml:1:1: z",
	}
	if !slices.Equal(lines(l), want) {
		t.Errorf("sorted:\n%s\nwant:\n%s", strings.Join(lines(l), "\n"), strings.Join(want, "\n"))
	}
	if got := l.Error(); got != strings.Join(want, "\n") {
		t.Errorf("Error() = %q", got)
	}
	if err := l.Err(); err == nil {
		t.Error("Err() of a non-empty list is nil")
	}
	var empty yamldecode.ErrorList
	empty.Sort()
	if err := empty.Err(); err != nil {
		t.Errorf("Err() of an empty list = %v, want nil", err)
	}
}

func TestPosString(t *testing.T) {
	cases := []struct {
		p    yamldecode.Pos
		want string
	}{
		{yamldecode.Pos{File: "a.yaml", Line: 3, Col: 7}, "a.yaml:3:7"},
		{yamldecode.Pos{File: "a.yaml"}, "a.yaml"},
		{yamldecode.Pos{}, ""},
	}
	for _, c := range cases {
		if got := c.p.String(); got != c.want {
			t.Errorf("%#v.String() = %q, want %q", c.p, got, c.want)
		}
	}
	err := yamldecode.Error{Pos: yamldecode.Pos{File: "a.yaml", Line: 1, Col: 2}, Msg: "bad"}
	if got := err.Error(); got != "a.yaml:1:2: bad" {
		t.Errorf("Error() = %q", got)
	}
}

func TestPosOf(t *testing.T) {
	body := parse(t, "first: 1\nsecond:\n  inner: x\nflow: {a: 1}\n", false)
	m := body.(*ast.MappingNode)
	cases := []struct {
		name string
		n    ast.Node
		want string
	}{
		{"block mapping: its first key", body, "f.yaml:1:1"},
		{"mapping value: its key", m.Values[1], "f.yaml:2:1"},
		{"nested block mapping", m.Values[1].Value, "f.yaml:3:3"},
		{"scalar", m.Values[0].Value, "f.yaml:1:8"},
		{"flow mapping: its brace", m.Values[2].Value, "f.yaml:4:7"},
		{"no node", nil, "f.yaml"},
	}
	for _, c := range cases {
		if got := yamldecode.PosOf("f.yaml", c.n).String(); got != c.want {
			t.Errorf("%s: PosOf = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestScalarText(t *testing.T) {
	body := parse(t, "s: plain\nq: \"quoted\"\ni: 010\nf: 1.50\nb: true\nn: ~\nl: |\n  text\nm: {a: 1}\nseq: [1]\n", false)
	want := map[string]struct {
		text string
		ok   bool
	}{
		"s": {"plain", true}, "q": {"quoted", true}, "i": {"010", true}, "f": {"1.50", true},
		"b": {"true", true}, "n": {"", true}, "l": {"text\n", true}, "m": {"", false}, "seq": {"", false},
	}
	for _, mv := range body.(*ast.MappingNode).Values {
		key, _ := yamldecode.ScalarText(mv.Key)
		text, ok := yamldecode.ScalarText(mv.Value)
		if w := want[key]; text != w.text || ok != w.ok {
			t.Errorf("ScalarText(%s) = %q, %v; want %q, %v", key, text, ok, w.text, w.ok)
		}
	}
}

func TestFieldNames(t *testing.T) {
	got := yamldecode.FieldNames(reflect.TypeFor[config]())
	want := []string{"kind", "name", "count", "small", "asn", "big", "ratio", "enabled", "rate", "maxRate", "prefix", "labels", "items", "nested"}
	if !slices.Equal(got, want) {
		t.Errorf("FieldNames = %q, want %q", got, want)
	}
	type untagged struct {
		Plain int
		Skip  int `json:"-"`
	}
	if got := yamldecode.FieldNames(reflect.TypeFor[untagged]()); !slices.Equal(got, []string{"Plain"}) {
		t.Errorf("FieldNames(untagged) = %q, want [Plain]", got)
	}
}
