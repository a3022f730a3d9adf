// Package schema generates the JSON Schema of twin documents from the twin
// package's Go types, so that editors and other tools can check twin YAML
// files and complete their fields. The schema is committed as
// twin.schema.json; `go test ./schema -update` regenerates it.
package schema

import (
	"encoding/json"
	"maps"
	"net/netip"
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
)

// comment is the schema's top-level $comment.
const comment = "JSON Schema of one preflight twin document, generated from the twin package by `go test ./schema -update`: do not edit. " +
	"To check twin files in an editor with the YAML language server, start each file with " +
	"`# yaml-language-server: $schema=<path to>/schema/twin.schema.json`, or map the twin's *.yaml files to this schema in the editor's yaml.schemas setting."

// number is a non-negative decimal number as strconv.ParseFloat reads it.
const number = `([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?`

// scalars are the schemas of the types written as text, by the name of
// their definition.
var scalars = []struct {
	typ    reflect.Type
	name   string
	schema jsonschema.Schema
}{
	{reflect.TypeFor[units.Rate](), "Rate", jsonschema.Schema{
		Description: "A request rate with its unit: rps, krps or Mrps (e.g. 2000rps, 2.5krps).",
		Pattern:     "^" + number + " *(rps|krps|Mrps)$",
	}},
	{reflect.TypeFor[units.Bandwidth](), "Bandwidth", jsonschema.Schema{
		Description: "A bandwidth in bits per second with its unit: bps, kbps, Mbps, Gbps or Tbps (e.g. 100Gbps).",
		Pattern:     "^" + number + " *(bps|kbps|Kbps|Mbps|Gbps|Tbps)$",
	}},
	{reflect.TypeFor[units.Duration](), "Duration", jsonschema.Schema{
		Description: "A duration with its unit: ns, us, ms, s, m, h, combined as in 1h30m, or d for days (e.g. 500ms, 30s, 5m, 1d).",
		Pattern:     `^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$|^` + number + "d$",
	}},
	{reflect.TypeFor[units.Size](), "Size", jsonschema.Schema{
		Description: "A size in bytes with its unit: B, kB/KB, MB, GB, TB or KiB, MiB, GiB, TiB (e.g. 4MiB, 200KB).",
		Pattern:     "^" + number + " *(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
	}},
	{reflect.TypeFor[units.Percent](), "Percent", jsonschema.Schema{
		Description: "A percentage from 0% to 100% (e.g. 25%).",
		Pattern:     `^(100(\.0*)?|[0-9]{1,2}(\.[0-9]*)?|\.[0-9]+) *%$`,
	}},
	{reflect.TypeFor[netip.Addr](), "Address", jsonschema.Schema{
		Description: "An IPv4 or IPv6 address (e.g. 192.0.2.1, 2001:db8::1).",
		Pattern:     `^[0-9A-Fa-f:.]+(%.+)?$`,
	}},
	{reflect.TypeFor[netip.Prefix](), "Prefix", jsonschema.Schema{
		Description: "An IPv4 or IPv6 address with a prefix length (e.g. 10.0.0.0/8, 10.0.0.1/31, 2001:db8::/32).",
		Pattern:     `^[0-9A-Fa-f:.]+/[0-9]{1,3}$`,
	}},
}

// Twin returns the JSON Schema (draft 2020-12) of one twin document,
// indented: one of the kinds of twin.Kinds, told apart by kind.
func Twin() ([]byte, error) { return generate(descriptions) }

// generate builds the schema with the given descriptions of types and
// fields, keyed as jsonschema.Reflector.CommentMap keys them.
func generate(comments map[string]string) ([]byte, error) {
	r := &jsonschema.Reflector{Anonymous: true, CommentMap: comments, Mapper: mapScalar}
	defs := jsonschema.Definitions{}
	for _, s := range scalars {
		schema := s.schema
		schema.Type = "string"
		defs[s.name] = &schema
	}
	root := &jsonschema.Schema{
		Version:     jsonschema.Version,
		Comments:    comment,
		Title:       "preflight twin document",
		Description: "One document of a twin file; kind says which object it is.",
		Type:        "object",
		Required:    []string{"kind"},
		Properties:  jsonschema.NewProperties(),
		Definitions: defs,
	}
	kinds := &jsonschema.Schema{Type: "string", Description: "The kind of object the document holds."}
	root.Properties.Set("kind", kinds)
	for _, k := range twin.Kinds {
		s := r.ReflectFromType(k.Type)
		maps.Copy(defs, s.Definitions)
		name := k.Type.Name()
		kind, _ := defs[name].Properties.Get("kind")
		kind.Const = k.Name
		kinds.Enum = append(kinds.Enum, k.Name)
		root.OneOf = append(root.OneOf, &jsonschema.Schema{Ref: "#/$defs/" + name})
	}
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// mapScalar refers the types written as text to their definitions.
func mapScalar(t reflect.Type) *jsonschema.Schema {
	for _, s := range scalars {
		if s.typ == t {
			return &jsonschema.Schema{Ref: "#/$defs/" + s.name}
		}
	}
	return nil
}
