package routing

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

// policies evaluates BGP route policies.
type policies struct {
	byName  map[string]*twin.RoutePolicy
	regexps map[string]*regexp.Regexp // by expression; nil if it does not compile
}

// newPolicies compiles the AS-path expressions of every policy; one that
// does not compile matches no route and is reported.
func newPolicies(m *model) *policies {
	p := &policies{byName: map[string]*twin.RoutePolicy{}, regexps: map[string]*regexp.Regexp{}}
	for _, rp := range twin.Typed[twin.RoutePolicy](m.snap) {
		p.byName[rp.Name] = rp
		for i, rule := range rp.Rules {
			expr := rule.Match.ASPath
			if _, seen := p.regexps[expr]; expr == "" || seen {
				continue
			}
			re, err := regexp.Compile(expr)
			p.regexps[expr] = re
			if err != nil {
				m.findings = append(m.findings, finding.Finding{
					ID:       fmt.Sprintf("routing.policy-invalid/%s/rules[%d]", rp.Name, i),
					Category: "routing.policy-invalid",
					Severity: finding.Critical,
					Message:  fmt.Sprintf("route policy %s: asPath %q is not a valid regular expression, so the rule matches no route", rp.Name, expr),
					Objects:  []finding.Object{finding.ObjectOf(rp, fmt.Sprintf("rules[%d].match.asPath", i))},
					Evidence: finding.Evidence{Lines: []string{err.Error(), "AS paths are matched as AS numbers joined by spaces, e.g. \"65001 65002\""}},
				})
			}
		}
	}
	return p
}

// apply runs the named policies in order on r, a copy the caller owns: in
// each, the first rule whose match fits decides; a deny, or no rule
// matching, denies the route. It reports whether the route is permitted.
// Slices of r are replaced, never changed in place.
func (p *policies) apply(names []string, prefix netip.Prefix, r *bgpRoute, ownAS uint32) bool {
	for _, name := range names {
		rule := p.first(p.byName[name], prefix, r)
		if rule == nil || rule.Action != "permit" {
			return false
		}
		set := rule.Set
		if set.LocalPref != nil {
			r.localPref = *set.LocalPref
		}
		if set.MED != nil {
			r.med = *set.MED
		}
		if len(set.AddCommunities) > 0 {
			c := slices.Concat(r.communities, set.AddCommunities)
			slices.Sort(c)
			r.communities = slices.Compact(c)
		}
		if set.Prepend > 0 {
			r.asPath = slices.Concat(slices.Repeat([]uint32{ownAS}, set.Prepend), r.asPath)
		}
	}
	return true
}

// first returns the first rule of a policy whose match fits, or nil.
func (p *policies) first(rp *twin.RoutePolicy, prefix netip.Prefix, r *bgpRoute) *twin.PolicyRule {
	if rp == nil {
		return nil
	}
	for i := range rp.Rules {
		if p.matches(&rp.Rules[i].Match, prefix, r) {
			return &rp.Rules[i]
		}
	}
	return nil
}

func (p *policies) matches(m *twin.PolicyMatch, prefix netip.Prefix, r *bgpRoute) bool {
	if len(m.Prefixes) > 0 && !slices.ContainsFunc(m.Prefixes, func(pm twin.PrefixMatch) bool { return prefixMatches(pm, prefix) }) {
		return false
	}
	for _, c := range m.Communities {
		if !slices.Contains(r.communities, c) {
			return false
		}
	}
	if m.ASPath != "" {
		re := p.regexps[m.ASPath]
		return re != nil && re.MatchString(pathString(r.asPath))
	}
	return true
}

// prefixMatches reports whether p is pm's prefix or, with ge/le, one of its
// more-specifics of those lengths: without either only the exact length
// matches; ge alone allows ge up to the address length; le alone allows
// the prefix's length up to le.
func prefixMatches(pm twin.PrefixMatch, p netip.Prefix) bool {
	if pm.Prefix.Addr().Is4() != p.Addr().Is4() || p.Bits() < pm.Prefix.Bits() || !pm.Prefix.Contains(p.Addr()) {
		return false
	}
	lo, hi := pm.Prefix.Bits(), pm.Prefix.Bits()
	if pm.GE > 0 {
		lo, hi = pm.GE, p.Addr().BitLen()
	}
	if pm.LE > 0 {
		hi = pm.LE
	}
	return lo <= p.Bits() && p.Bits() <= hi
}

// pathString writes an AS path as its numbers joined by spaces.
func pathString(path []uint32) string {
	s := make([]string, len(path))
	for i, as := range path {
		s[i] = strconv.FormatUint(uint64(as), 10)
	}
	return strings.Join(s, " ")
}
