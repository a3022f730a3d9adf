// Package approval decides whether a checked change may proceed once
// people have looked at it: the approvals its risk calls for (how many,
// from which groups), separation of duties, approvals bound to the exact
// change and twin version, recurring freeze windows and their overrides,
// time-boxed break-glass, overrides of soft-mandatory policies and
// acceptance of an unknown verdict.
//
// It is the decision logic behind a review service and nothing else: no
// I/O, no clock (the caller passes now), no storage. The same inputs give
// the same Status.
package approval

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/policy"
	"github.com/preflight-sh/preflight/verdict"
)

// Roles a user may hold. An admin may do whatever an approver may.
const (
	RoleViewer   = "viewer"
	RoleAuthor   = "author"
	RoleApprover = "approver"
	RoleAdmin    = "admin"
)

// Kinds of decision.
const (
	// KindApprove counts toward the number of approvals and the groups.
	KindApprove = "approve"
	// KindReject rejects the request; one reject is enough.
	KindReject = "reject"
	// KindOverridePolicy lets the change through one violated
	// soft-mandatory policy (Decision.Policy); it needs a reason.
	KindOverridePolicy = "override-policy"
	// KindOverrideFreeze lets the change through one freeze in force
	// (Decision.Freeze); it needs a reason and a member of one of the
	// freeze's override groups.
	KindOverrideFreeze = "override-freeze"
	// KindBreakGlass replaces the approvals (count and groups) until
	// Decision.Until; it needs a reason and calls for a post-review.
	KindBreakGlass = "break-glass"
	// KindAcceptUnknown accepts what the analyses could not decide; it
	// needs a reason.
	KindAcceptUnknown = "accept-unknown"
)

// States of a request.
const (
	// StateNeedsApproval: some rule is unmet (Status.Unmet) but decisions
	// can meet it.
	StateNeedsApproval = "needs-approval"
	// StateApproved: every rule is met; the change may be applied.
	StateApproved = "approved"
	// StateRejected: an approver rejected this change at this twin
	// version.
	StateRejected = "rejected"
	// StateBlocked: no decision can let the change through (a violated
	// hard-mandatory policy, or a block verdict that no soft-mandatory
	// override can lift). A new version of the change is needed.
	StateBlocked = "blocked"
)

// DefaultMaxBreakGlass is the longest a break-glass may last when
// Options.MaxBreakGlass is zero.
const DefaultMaxBreakGlass = 4 * time.Hour

// Errors of CanApprove and CanDecide, to be told apart with errors.Is: a
// review service answers ErrRole with 403 Forbidden and ErrSeparation with
// 409 Conflict (ErrKind is a bad request).
var (
	// ErrRole: the user lacks the role (approver or admin), or has no name.
	ErrRole = errors.New("not allowed")
	// ErrSeparation: the user wrote or edited the request.
	ErrSeparation = errors.New("separation of duties")
	// ErrKind: no such kind of decision.
	ErrKind = errors.New("unknown kind of decision")
)

// User is a person as the review service knows them.
type User struct {
	// Name identifies the user. Names compare without regard to case or
	// surrounding space, so "Alice" cannot approve what "alice" wrote.
	Name string `json:"name"`
	// Roles: viewer, author, approver, admin.
	Roles []string `json:"roles,omitempty"`
	// Groups the user is a member of, such as "api-platform" (a leading
	// "team " is ignored). Groups compare exactly.
	Groups []string `json:"groups,omitempty"`
}

// Request is a change submitted for review, with the report of its check.
type Request struct {
	ID     string `json:"id"`
	Author string `json:"author"`
	// Editors are everyone who changed the request after it was written.
	Editors []string `json:"editors,omitempty"`
	// ChangeHash and TwinVersion identify exactly what was checked;
	// decisions recorded for other values are void.
	ChangeHash  string `json:"changeHash"`
	TwinVersion string `json:"twinVersion"`
	// Report is the check of this change on this twin version; it needs a
	// verdict and a risk assessment.
	Report *check.Report `json:"report"`
}

// Decision is one person's recorded decision on a request.
type Decision struct {
	Kind string `json:"kind"`
	// User is the person deciding, with their roles and groups at the
	// time.
	User User `json:"user"`
	// Policy is the policy an override-policy decision overrides.
	Policy string `json:"policy,omitempty"`
	// Freeze is the name of the freeze an override-freeze decision
	// overrides.
	Freeze string `json:"freeze,omitempty"`
	// Reason is why; required for overrides, break-glass and
	// accept-unknown.
	Reason string `json:"reason,omitempty"`
	// ChangeHash and TwinVersion are what the person decided on.
	ChangeHash  string `json:"changeHash"`
	TwinVersion string `json:"twinVersion"`
	// At is when the decision was recorded.
	At time.Time `json:"at"`
	// Until is when a break-glass ends; at most Options.MaxBreakGlass
	// after At.
	Until time.Time `json:"until,omitzero"`
}

// Voided is a decision that does not count, and why.
type Voided struct {
	Decision Decision `json:"decision"`
	Why      string   `json:"why"`
}

// Options tune the evaluation.
type Options struct {
	// MaxBreakGlass is the longest a break-glass may last (from its At to
	// its Until); zero means DefaultMaxBreakGlass. A longer one is void,
	// not shortened.
	MaxBreakGlass time.Duration
}

// Status is where a request stands.
type Status struct {
	State string `json:"state"`
	// Unmet says in words each rule still unmet: what blocks the request
	// first, then the overrides, the acceptance of the unknown, the
	// freezes and the approvals it waits for.
	Unmet []string `json:"unmet,omitempty"`
	// Required is how many distinct approvals the risk calls for, and
	// Groups the groups among them (from the report's risk assessment).
	Required int      `json:"required"`
	Groups   []string `json:"groups,omitempty"`
	// Approvers are the distinct people whose approvals count, sorted.
	Approvers []string `json:"approvers,omitempty"`
	// Counted are the decisions that count, Void the others with why; both
	// in time order.
	Counted []Decision `json:"counted,omitempty"`
	Void    []Voided   `json:"void,omitempty"`
	// BreakGlass is the break-glass in effect, if any (the one that lasts
	// longest).
	BreakGlass *Decision `json:"breakGlass,omitempty"`
	// PostReview says glass was broken for this change and twin version
	// (even if it has since expired): the change must be reviewed after
	// the fact.
	PostReview bool `json:"postReview"`
	// Freezes are the freezes in force now, by name, with their overrides.
	Freezes []ActiveFreeze `json:"freezes,omitempty"`
}

// CanApprove says whether u may approve req, or override its policies or
// freezes, or accept its unknowns: u must be an approver or an admin, and
// neither its author nor one of its editors. It is what a review service
// checks before it records such a decision.
func CanApprove(u User, req Request) error {
	return CanDecide(u, req, KindApprove)
}

// CanDecide is CanApprove for a kind of decision. Rejecting only needs the
// role: an author may reject (withdraw) their own change, since that never
// lets a change through. Every other kind also needs separation of duties.
func CanDecide(u User, req Request, kind string) error {
	if !slices.Contains(kinds, kind) {
		return fmt.Errorf("%w %q", ErrKind, kind)
	}
	if strings.TrimSpace(u.Name) == "" {
		return fmt.Errorf("%w: the user has no name", ErrRole)
	}
	if !hasRole(u, RoleApprover) && !hasRole(u, RoleAdmin) {
		return fmt.Errorf("%w: %s is not an approver (roles: %s)", ErrRole, u.Name, orNone(u.Roles))
	}
	if kind == KindReject {
		return nil
	}
	if samePerson(u.Name, req.Author) {
		return fmt.Errorf("%w: %s wrote this request and cannot %s it", ErrSeparation, u.Name, verb(kind))
	}
	for _, e := range req.Editors {
		if samePerson(u.Name, e) {
			return fmt.Errorf("%w: %s edited this request and cannot %s it", ErrSeparation, u.Name, verb(kind))
		}
	}
	return nil
}

var kinds = []string{KindApprove, KindReject, KindOverridePolicy, KindOverrideFreeze, KindBreakGlass, KindAcceptUnknown}

func verb(kind string) string {
	switch kind {
	case KindApprove:
		return "approve"
	case KindOverridePolicy:
		return "override a policy of"
	case KindOverrideFreeze:
		return "override a freeze for"
	case KindBreakGlass:
		return "break glass for"
	case KindAcceptUnknown:
		return "accept the unknowns of"
	}
	return kind
}

// Satisfies says whether an approval by u meets the group requirement g:
// "team X" and "X" are met by a member of group X; "approver NAME" (as the
// risk assessment asks for the approver named in an override, possibly
// followed by a remark in parentheses) only by the user NAME.
func Satisfies(u User, g string) bool {
	if name, ok := namedApprover(g); ok {
		return samePerson(u.Name, name)
	}
	want := groupName(g)
	if want == "" {
		return false
	}
	for _, have := range u.Groups {
		if groupName(have) == want {
			return true
		}
	}
	return false
}

func groupName(g string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(g), "team "))
}

// namedApprover parses "approver NAME" and "approver NAME (remark)".
func namedApprover(g string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(g), "approver ")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, " (")
	name = strings.TrimSpace(name)
	return name, name != ""
}

// groupWords says in words who meets a group requirement.
func groupWords(g string) string {
	if name, ok := namedApprover(g); ok {
		rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(g), "approver "+name))
		if rest != "" {
			rest = " " + rest
		}
		return "an approval by " + name + rest
	}
	return "an approver from " + strings.TrimSpace(g)
}

// Evaluate decides where a request stands at now, given the decisions
// recorded on it in the order they were recorded, and the freezes. Errors
// are for malformed inputs only (a request without a report, verdict or
// risk assessment, or without a change hash or twin version; a bad
// freeze; bad options); a decision that does not count is reported in
// Status.Void with the reason.
//
// The rules:
//   - A decision counts only if recorded for the request's change hash and
//     twin version, at a known time not after now and not before a
//     decision recorded ahead of it, by someone allowed to make it
//     (CanDecide), with a reason where one is required, and if it applies
//     (the policy it overrides is violated and soft-mandatory, the freeze
//     exists and the user is in one of its override groups, the
//     break-glass has not expired...). One decision of a kind per person
//     and subject: a second approval by the same person does not count
//     twice.
//   - A counted reject makes the request rejected, whatever else holds.
//   - A violated hard-mandatory policy blocks; nothing overrides it, not
//     even break-glass. A block verdict blocks unless every critical
//     finding is governed by a violated soft-mandatory policy; each such
//     policy (and any violated soft-mandatory policy the report did not
//     override) needs an override-policy decision.
//   - An unknown verdict (or an unknown finding no soft-mandatory override
//     covers) needs the approvals plus an accept-unknown decision.
//   - Each freeze in force needs an override-freeze decision.
//   - Required distinct approvers, with one member of each group among
//     them, unless a break-glass is in effect; it replaces the approvals,
//     nothing else, and calls for a post-review.
func Evaluate(req Request, decisions []Decision, freezes []Freeze, now time.Time, o Options) (Status, error) {
	e, err := newEvaluation(req, freezes, now, o)
	if err != nil {
		return Status{}, err
	}
	e.record(decisions)
	return e.status(), nil
}

// evaluation holds what Evaluate works out.
type evaluation struct {
	req      Request
	rep      *check.Report
	now      time.Time
	maxGlass time.Duration
	freezes  map[string]Freeze
	active   []ActiveFreeze // sorted by name
	policies map[string]policy.Outcome

	counted    []Decision
	void       []Voided
	postReview bool
}

func newEvaluation(req Request, freezes []Freeze, now time.Time, o Options) (*evaluation, error) {
	rep := req.Report
	switch {
	case rep == nil:
		return nil, errors.New("the request has no report")
	case rep.Verdict == nil:
		return nil, errors.New("the report has no verdict: the change must be checked, not only planned")
	case rep.Risk == nil:
		return nil, errors.New("the report has no risk assessment: the change must be checked, not only planned")
	case rep.Risk.Approvals.Required < 0:
		return nil, fmt.Errorf("the report asks for %d approvals", rep.Risk.Approvals.Required)
	case strings.TrimSpace(req.ChangeHash) == "" || strings.TrimSpace(req.TwinVersion) == "":
		return nil, errors.New("the request needs a change hash and a twin version to bind approvals to")
	case strings.TrimSpace(req.Author) == "":
		return nil, errors.New("the request has no author")
	case now.IsZero():
		return nil, errors.New("no time given for the evaluation")
	case o.MaxBreakGlass < 0:
		return nil, fmt.Errorf("maximum break-glass duration %v is negative", o.MaxBreakGlass)
	}
	switch rep.Verdict.Decision {
	case verdict.Pass, verdict.Warn, verdict.Block, verdict.Unknown:
	default:
		return nil, fmt.Errorf("the report's verdict %q is none of pass, warn, block, unknown", rep.Verdict.Decision)
	}
	e := &evaluation{req: req, rep: rep, now: now, maxGlass: cmp.Or(o.MaxBreakGlass, DefaultMaxBreakGlass),
		freezes: map[string]Freeze{}, policies: map[string]policy.Outcome{}}
	for _, f := range freezes {
		if _, dup := e.freezes[f.Name]; dup {
			return nil, fmt.Errorf("two freezes are named %q", f.Name)
		}
		af, on, err := f.ActiveAt(now)
		if err != nil {
			return nil, err
		}
		e.freezes[f.Name] = f
		if on {
			e.active = append(e.active, af)
		}
	}
	slices.SortFunc(e.active, func(a, b ActiveFreeze) int { return strings.Compare(a.Name, b.Name) })
	for _, oc := range rep.Policies {
		if _, dup := e.policies[oc.Policy]; dup {
			return nil, fmt.Errorf("the report has two outcomes for policy %q", oc.Policy)
		}
		e.policies[oc.Policy] = oc
	}
	return e, nil
}

// record sorts the decisions into counted and void.
func (e *evaluation) record(decisions []Decision) {
	var last time.Time // of the latest decision at a valid time so far
	for _, d := range decisions {
		why := ""
		switch {
		case d.At.IsZero():
			why = "recorded without a time"
		case d.At.After(e.now):
			why = "recorded at " + stamp(d.At) + ", after the time of the evaluation (" + stamp(e.now) + ")"
		case d.At.Before(last):
			why = "recorded out of order: at " + stamp(d.At) + ", before a decision recorded ahead of it at " + stamp(last)
		default:
			last = d.At
			why = e.check(d)
		}
		if why != "" {
			e.void = append(e.void, Voided{Decision: d, Why: why})
			continue
		}
		e.counted = append(e.counted, d)
	}
}

// check says why a decision at a valid time does not count, or "".
func (e *evaluation) check(d Decision) string {
	switch {
	case !slices.Contains(kinds, d.Kind):
		return fmt.Sprintf("unknown kind of decision %q", d.Kind)
	case strings.TrimSpace(d.User.Name) == "":
		return "made by a user without a name"
	case d.ChangeHash != e.req.ChangeHash:
		return fmt.Sprintf("made on change %s; the change is now %s", orNone1(d.ChangeHash), e.req.ChangeHash)
	case d.TwinVersion != e.req.TwinVersion:
		return fmt.Sprintf("made on twin version %s; the twin is now at %s", orNone1(d.TwinVersion), e.req.TwinVersion)
	}
	if err := CanDecide(d.User, e.req, d.Kind); err != nil {
		return err.Error()
	}
	switch d.Kind {
	case KindOverridePolicy, KindOverrideFreeze, KindBreakGlass, KindAcceptUnknown:
		if strings.TrimSpace(d.Reason) == "" {
			return d.Kind + " needs a reason"
		}
	}
	switch d.Kind {
	case KindOverridePolicy:
		if why := e.checkPolicyOverride(d); why != "" {
			return why
		}
	case KindOverrideFreeze:
		f, ok := e.freezes[d.Freeze]
		switch {
		case strings.TrimSpace(d.Freeze) == "":
			return "override-freeze names no freeze"
		case !ok:
			return fmt.Sprintf("there is no freeze named %q", d.Freeze)
		case !slices.ContainsFunc(f.OverrideGroups, func(g string) bool { return Satisfies(d.User, g) }):
			return fmt.Sprintf("%s is not a member of a group that may override freeze %q (%s)", d.User.Name, d.Freeze, orNone(f.OverrideGroups))
		}
	case KindBreakGlass:
		switch {
		case d.Until.IsZero():
			return "break-glass without an end (until)"
		case !d.Until.After(d.At):
			return "break-glass ends (" + stamp(d.Until) + ") before it starts (" + stamp(d.At) + ")"
		case d.Until.Sub(d.At) > e.maxGlass:
			return fmt.Sprintf("break-glass for %v; at most %v is allowed", d.Until.Sub(d.At), e.maxGlass)
		}
		// Glass was broken: whatever happens next, someone must look at it.
		e.postReview = true
		if !e.now.Before(d.Until) {
			return "break-glass expired at " + stamp(d.Until)
		}
	case KindAcceptUnknown:
		if e.rep.Verdict.Decision != verdict.Unknown && !slices.ContainsFunc(e.rep.Findings, func(f finding.Finding) bool { return f.Severity == finding.Unknown }) {
			return fmt.Sprintf("the verdict is %s and no finding is unknown: there is nothing to accept", e.rep.Verdict.Decision)
		}
	}
	for _, c := range e.counted {
		if c.Kind == d.Kind && c.Policy == d.Policy && c.Freeze == d.Freeze && samePerson(c.User.Name, d.User.Name) {
			return fmt.Sprintf("%s already recorded this %s at %s; one per person", d.User.Name, d.Kind, stamp(c.At))
		}
	}
	return ""
}

func (e *evaluation) checkPolicyOverride(d Decision) string {
	oc, ok := e.policies[d.Policy]
	switch {
	case strings.TrimSpace(d.Policy) == "":
		return "override-policy names no policy"
	case !ok:
		return fmt.Sprintf("the report has no policy %q", d.Policy)
	case !oc.Violated:
		return fmt.Sprintf("policy %s is not violated: there is nothing to override", d.Policy)
	case oc.Shadow:
		return fmt.Sprintf("policy %s is in shadow mode and blocks nothing: there is nothing to override", d.Policy)
	case oc.Enforcement == policy.HardMandatory:
		return fmt.Sprintf("policy %s is hard-mandatory and can never be overridden", d.Policy)
	case oc.Enforcement == policy.Advisory:
		return fmt.Sprintf("policy %s is advisory and never blocks: there is nothing to override", d.Policy)
	case oc.Enforcement != policy.SoftMandatory:
		return fmt.Sprintf("policy %s has enforcement %q; only soft-mandatory policies can be overridden", d.Policy, oc.Enforcement)
	case oc.Overridden != nil:
		return fmt.Sprintf("policy %s is already overridden in the report by %s", d.Policy, oc.Overridden.Approver)
	}
	return ""
}

// status applies the rules to the counted decisions.
func (e *evaluation) status() Status {
	ap := e.rep.Risk.Approvals
	st := Status{Required: ap.Required, Groups: dedupe(ap.Groups), PostReview: e.postReview}
	rejected, acceptUnknown := false, false
	overridden := map[string]bool{} // policies overridden by a decision
	var approvers []User
	for _, d := range e.counted {
		switch d.Kind {
		case KindReject:
			rejected = true
		case KindApprove:
			if !slices.ContainsFunc(approvers, func(u User) bool { return samePerson(u.Name, d.User.Name) }) {
				approvers = append(approvers, d.User)
				st.Approvers = append(st.Approvers, d.User.Name)
			}
		case KindOverridePolicy:
			overridden[d.Policy] = true
		case KindAcceptUnknown:
			acceptUnknown = true
		case KindBreakGlass:
			if st.BreakGlass == nil || d.Until.After(st.BreakGlass.Until) {
				st.BreakGlass = &d
			}
		case KindOverrideFreeze:
			for i := range e.active {
				if e.active[i].Name == d.Freeze && e.active[i].Override == nil {
					e.active[i].Override = &d
				}
			}
		}
	}
	slices.Sort(st.Approvers)

	// What no decision can lift.
	var blockers, unmet []string
	var names []string
	for name := range e.policies {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		oc := e.policies[name]
		if !oc.Violated || oc.Shadow {
			continue
		}
		switch oc.Enforcement {
		case policy.Advisory:
		case policy.SoftMandatory:
			if oc.Overridden == nil && !overridden[name] {
				unmet = append(unmet, "override of policy "+name+" by an approver, with a reason")
			}
		case policy.HardMandatory:
			blockers = append(blockers, "policy "+name+" is hard-mandatory and violated: nothing overrides it, not even break-glass")
		default:
			// An enforcement level this package does not know is treated as
			// the strictest.
			blockers = append(blockers, fmt.Sprintf("policy %s is violated and its enforcement %q is unknown: it cannot be overridden", name, oc.Enforcement))
		}
	}
	needUnknown := false
	switch e.rep.Verdict.Decision {
	case verdict.Block:
		var crit []string
		for _, f := range e.rep.Findings {
			if f.Severity == finding.Critical && !slices.Contains(crit, f.ID) {
				crit = append(crit, f.ID)
			}
		}
		slices.Sort(crit)
		if len(crit) == 0 {
			blockers = append(blockers, "the verdict is block and the report names no critical finding a soft-mandatory override could lift")
		}
		for _, id := range crit {
			if !e.governed(id, false, nil) && !e.governedByHard(id) {
				blockers = append(blockers, "finding "+id+" is critical and no soft-mandatory policy governs it: a block verdict can only be lifted by overriding soft-mandatory policies")
			}
		}
		needUnknown = e.uncoveredUnknown(overridden, false)
	case verdict.Unknown:
		needUnknown = e.uncoveredUnknown(overridden, true)
	}
	if needUnknown && !acceptUnknown {
		unmet = append(unmet, "acceptance of the unknown verdict (accept-unknown) by an approver, with a reason")
	}
	for _, af := range e.active {
		if af.Override != nil {
			continue
		}
		who := "no group may override it; it ends at " + stamp(af.Until)
		if len(af.OverrideGroups) > 0 {
			who = "an override, with a reason, by a member of " + strings.Join(af.OverrideGroups, " or ")
		}
		unmet = append(unmet, fmt.Sprintf("freeze '%s' in force until %s: %s", af.Name, stamp(af.Until), who))
	}
	st.Freezes = e.active
	if st.BreakGlass == nil {
		if missing := ap.Required - len(approvers); missing > 0 {
			unmet = append(unmet, fmt.Sprintf("%d more approval%s", missing, plural(missing)))
		}
		for _, g := range st.Groups {
			if !slices.ContainsFunc(approvers, func(u User) bool { return Satisfies(u, g) }) {
				unmet = append(unmet, groupWords(g))
			}
		}
	}
	st.Unmet = append(blockers, unmet...)

	switch {
	case rejected:
		st.State = StateRejected
	case len(blockers) > 0:
		st.State = StateBlocked
	case len(unmet) > 0:
		st.State = StateNeedsApproval
	default:
		st.State = StateApproved
	}
	st.Counted = sortDecisions(e.counted)
	st.Void = e.void
	slices.SortStableFunc(st.Void, func(a, b Voided) int { return compareDecisions(a.Decision, b.Decision) })
	return st
}

// governed says whether a finding is governed by a violated soft-mandatory
// policy in force (not shadow); with overridden non-nil, by one that is
// overridden, in the report or by a decision.
func (e *evaluation) governed(id string, needOverride bool, overridden map[string]bool) bool {
	for name, oc := range e.policies {
		if !oc.Violated || oc.Shadow || oc.Enforcement != policy.SoftMandatory || !slices.Contains(oc.Findings, id) {
			continue
		}
		if !needOverride || oc.Overridden != nil || overridden[name] {
			return true
		}
	}
	return false
}

// governedByHard says whether a violated hard-mandatory policy governs a
// finding (it is reported as such already).
func (e *evaluation) governedByHard(id string) bool {
	for _, oc := range e.policies {
		if oc.Violated && !oc.Shadow && oc.Enforcement != policy.SoftMandatory && oc.Enforcement != policy.Advisory && slices.Contains(oc.Findings, id) {
			return true
		}
	}
	return false
}

// uncoveredUnknown says whether an unknown remains once the soft-mandatory
// overrides are applied: an unknown finding none of them covers, or, for
// an unknown verdict, no unknown finding to explain it.
func (e *evaluation) uncoveredUnknown(overridden map[string]bool, verdictUnknown bool) bool {
	seen := false
	for _, f := range e.rep.Findings {
		if f.Severity != finding.Unknown {
			continue
		}
		seen = true
		if !e.governed(f.ID, true, overridden) {
			return true
		}
	}
	return verdictUnknown && !seen
}

func sortDecisions(ds []Decision) []Decision {
	out := slices.Clone(ds)
	slices.SortStableFunc(out, compareDecisions)
	return out
}

// compareDecisions orders by time, then by who, kind and subject.
func compareDecisions(a, b Decision) int {
	return cmp.Or(a.At.Compare(b.At), strings.Compare(a.User.Name, b.User.Name), strings.Compare(a.Kind, b.Kind),
		strings.Compare(a.Policy, b.Policy), strings.Compare(a.Freeze, b.Freeze))
}

func hasRole(u User, role string) bool {
	return slices.ContainsFunc(u.Roles, func(r string) bool { return strings.EqualFold(strings.TrimSpace(r), role) })
}

func samePerson(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	return a != "" && strings.EqualFold(a, b)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func orNone1(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func dedupe(s []string) []string {
	out := sortedCopy(s)
	return slices.Compact(out)
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
