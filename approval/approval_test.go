package approval

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/policy"
	"github.com/preflight-sh/preflight/risk"
	"github.com/preflight-sh/preflight/verdict"
)

// Wednesday 4 June 2025, noon UTC. The weekend freeze below opens on
// Friday 6 June at 22:00 and ends on Monday 9 June at 10:00.
var (
	now       = time.Date(2025, 6, 4, 12, 0, 0, 0, time.UTC)
	friday22  = time.Date(2025, 6, 6, 22, 0, 0, 0, time.UTC)
	monday10  = time.Date(2025, 6, 9, 10, 0, 0, 0, time.UTC)
	weekend   = Freeze{Name: "weekend", Schedule: "0 22 * * FRI", Duration: 60 * time.Hour, OverrideGroups: []string{"team sre", "release-managers"}}
	alice     = User{Name: "alice", Roles: []string{RoleAuthor, RoleApprover}, Groups: []string{"api-platform"}}
	eve       = User{Name: "eve", Roles: []string{RoleApprover}, Groups: []string{"api-platform"}}
	bob       = User{Name: "bob", Roles: []string{RoleApprover}, Groups: []string{"api-platform"}}
	carol     = User{Name: "carol", Roles: []string{RoleApprover}, Groups: []string{"billing", "sre"}}
	dave      = User{Name: "dave", Roles: []string{RoleAdmin}, Groups: []string{"team release-managers"}}
	victor    = User{Name: "victor", Roles: []string{RoleViewer}, Groups: []string{"api-platform"}}
	apiGroups = []string{"team api-platform"}
)

// rep builds a checked report.
func rep(d verdict.Decision, required int, groups []string, fs []finding.Finding, pols ...policy.Outcome) *check.Report {
	return &check.Report{
		Kind:     "Check",
		Findings: fs,
		Verdict:  &verdict.Verdict{Decision: d},
		Risk:     &risk.Assessment{Score: 50, Tier: "high", Approvals: risk.Approvals{Required: required, Groups: groups}},
		Policies: pols,
	}
}

func crit(id string) finding.Finding { return finding.Finding{ID: id, Severity: finding.Critical} }
func unk(id string) finding.Finding  { return finding.Finding{ID: id, Severity: finding.Unknown} }

func soft(name string, findings ...string) policy.Outcome {
	return policy.Outcome{Policy: name, Enforcement: policy.SoftMandatory, Violated: true, Findings: findings}
}

func hard(name string, findings ...string) policy.Outcome {
	return policy.Outcome{Policy: name, Enforcement: policy.HardMandatory, Violated: true, Findings: findings}
}

func request(r *check.Report) Request {
	return Request{ID: "r1", Author: "alice", Editors: []string{"eve"}, ChangeHash: "h1", TwinVersion: "v1", Report: r}
}

// dec is a decision on the current change, an hour before now; options
// adjust it.
func dec(kind string, u User, opts ...func(*Decision)) Decision {
	d := Decision{Kind: kind, User: u, ChangeHash: "h1", TwinVersion: "v1", At: now.Add(-time.Hour)}
	if kind != KindApprove && kind != KindReject {
		d.Reason = "because"
	}
	for _, o := range opts {
		o(&d)
	}
	return d
}

func at(t time.Time) func(*Decision)    { return func(d *Decision) { d.At = t } }
func until(t time.Time) func(*Decision) { return func(d *Decision) { d.Until = t } }
func reason(r string) func(*Decision)   { return func(d *Decision) { d.Reason = r } }
func onPolicy(p string) func(*Decision) { return func(d *Decision) { d.Policy = p } }
func onFreeze(f string) func(*Decision) { return func(d *Decision) { d.Freeze = f } }
func hash(h string) func(*Decision)     { return func(d *Decision) { d.ChangeHash = h } }
func version(v string) func(*Decision)  { return func(d *Decision) { d.TwinVersion = v } }
func glassFor(d time.Duration) func(*Decision) {
	return func(x *Decision) { x.Until = x.At.Add(d) }
}

type tc struct {
	name      string
	report    *check.Report
	decisions []Decision
	freezes   []Freeze
	now       time.Time // zero: now
	opts      Options
	state     string
	unmet     []string // exactly
	counted   int
	void      []string // substrings of the reasons, in order
	post      bool
	approvers []string
}

func run(t *testing.T, cases []tc) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			when := c.now
			if when.IsZero() {
				when = now
			}
			st, err := Evaluate(request(c.report), c.decisions, c.freezes, when, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != c.state {
				t.Errorf("state %s, want %s (unmet %q, void %+v)", st.State, c.state, st.Unmet, st.Void)
			}
			if !reflect.DeepEqual(st.Unmet, c.unmet) {
				t.Errorf("unmet\n got %q\nwant %q", st.Unmet, c.unmet)
			}
			if len(st.Counted) != c.counted {
				t.Errorf("%d counted, want %d: %+v", len(st.Counted), c.counted, st.Counted)
			}
			if len(st.Void) != len(c.void) {
				t.Errorf("void %+v, want %q", st.Void, c.void)
			} else {
				for i, v := range st.Void {
					if !strings.Contains(v.Why, c.void[i]) {
						t.Errorf("void[%d] %q, want it to say %q", i, v.Why, c.void[i])
					}
				}
			}
			if st.PostReview != c.post {
				t.Errorf("post-review %v, want %v", st.PostReview, c.post)
			}
			if c.approvers != nil && !reflect.DeepEqual(st.Approvers, c.approvers) {
				t.Errorf("approvers %q, want %q", st.Approvers, c.approvers)
			}
			// The same inputs give the same status.
			again, err := Evaluate(request(c.report), c.decisions, c.freezes, when, c.opts)
			if err != nil || !reflect.DeepEqual(st, again) {
				t.Errorf("not deterministic:\n%+v\n%+v", st, again)
			}
		})
	}
}

func TestCounting(t *testing.T) {
	run(t, []tc{
		{name: "low risk needs nobody", report: rep(verdict.Pass, 0, nil, nil), state: StateApproved},
		{name: "one of one", report: rep(verdict.Warn, 1, nil, nil), decisions: []Decision{dec(KindApprove, bob)},
			state: StateApproved, counted: 1, approvers: []string{"bob"}},
		{name: "none of two", report: rep(verdict.Pass, 2, nil, nil),
			state: StateNeedsApproval, unmet: []string{"2 more approvals"}},
		{name: "one of two", report: rep(verdict.Pass, 2, nil, nil), decisions: []Decision{dec(KindApprove, bob)},
			state: StateNeedsApproval, unmet: []string{"1 more approval"}, counted: 1},
		{name: "two of two, admin counts", report: rep(verdict.Pass, 2, nil, nil), decisions: []Decision{dec(KindApprove, dave), dec(KindApprove, bob)},
			state: StateApproved, counted: 2, approvers: []string{"bob", "dave"}},
		{name: "duplicate approval counts once", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindApprove, bob), dec(KindApprove, bob, at(now.Add(-time.Minute)))},
			state:     StateNeedsApproval, unmet: []string{"1 more approval"}, counted: 1, void: []string{"bob already recorded this approve"}},
		{name: "duplicate by another spelling of the name", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindApprove, bob), dec(KindApprove, User{Name: " Bob ", Roles: []string{RoleApprover}}, at(now))},
			state:     StateNeedsApproval, unmet: []string{"1 more approval"}, counted: 1, void: []string{"already recorded"}},
	})
}

func TestSeparationOfDuties(t *testing.T) {
	run(t, []tc{
		{name: "author cannot approve", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec(KindApprove, alice)},
			state: StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"alice wrote this request and cannot approve it"}},
		{name: "author in other case cannot approve", report: rep(verdict.Pass, 1, nil, nil),
			decisions: []Decision{dec(KindApprove, User{Name: "ALICE", Roles: []string{RoleAdmin}})},
			state:     StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"wrote this request"}},
		{name: "editor cannot approve", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec(KindApprove, eve)},
			state: StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"eve edited this request and cannot approve it"}},
		{name: "viewer cannot approve", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec(KindApprove, victor)},
			state: StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"victor is not an approver (roles: viewer)"}},
		{name: "no roles", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec(KindApprove, User{Name: "zed"})},
			state: StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"zed is not an approver (roles: none)"}},
		{name: "no name", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec(KindApprove, User{Roles: []string{RoleApprover}})},
			state: StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"without a name"}},
		{name: "author cannot override a policy", report: rep(verdict.Block, 0, nil, []finding.Finding{crit("capacity.floor.api")}, soft("floors", "capacity.floor.api")),
			decisions: []Decision{dec(KindOverridePolicy, alice, onPolicy("floors"))},
			state:     StateNeedsApproval, unmet: []string{"override of policy floors by an approver, with a reason"}, void: []string{"alice wrote this request and cannot override a policy of it"}},
		{name: "editor cannot accept unknowns", report: rep(verdict.Unknown, 0, nil, []finding.Finding{unk("reachability.not-compared")}),
			decisions: []Decision{dec(KindAcceptUnknown, eve)},
			state:     StateNeedsApproval, unmet: []string{"acceptance of the unknown verdict (accept-unknown) by an approver, with a reason"}, void: []string{"eve edited"}},
		{name: "unknown kind", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec("lgtm", bob)},
			state: StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{`unknown kind of decision "lgtm"`}},
	})
}

func TestCanApprove(t *testing.T) {
	r := request(rep(verdict.Pass, 1, nil, nil))
	for _, c := range []struct {
		u    User
		kind string
		want error
	}{
		{bob, KindApprove, nil},
		{dave, KindBreakGlass, nil},
		{alice, KindApprove, ErrSeparation},
		{eve, KindOverrideFreeze, ErrSeparation},
		{victor, KindApprove, ErrRole},
		{User{Roles: []string{RoleApprover}}, KindApprove, ErrRole},
		{alice, KindReject, nil}, // an author may withdraw their change
		{victor, KindReject, ErrRole},
		{bob, "ship-it", ErrKind},
	} {
		err := CanDecide(c.u, r, c.kind)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("CanDecide(%s, %s) = %v, want %v", c.u.Name, c.kind, err, c.want)
		}
		if c.kind == KindApprove {
			if err2 := CanApprove(c.u, r); (err2 == nil) != (err == nil) {
				t.Errorf("CanApprove(%s) = %v, CanDecide %v", c.u.Name, err2, err)
			}
		}
	}
	if err := CanApprove(alice, r); err == nil || !strings.Contains(err.Error(), "alice wrote this request") {
		t.Errorf("the refusal should say why: %v", err)
	}
}

func TestBinding(t *testing.T) {
	run(t, []tc{
		{name: "approval for another change hash is void", report: rep(verdict.Pass, 1, nil, nil),
			decisions: []Decision{dec(KindApprove, bob, hash("h0"))},
			state:     StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"made on change h0; the change is now h1"}},
		{name: "approval for another twin version is void", report: rep(verdict.Pass, 1, nil, nil),
			decisions: []Decision{dec(KindApprove, bob, version("v0"))},
			state:     StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"made on twin version v0; the twin is now at v1"}},
		{name: "approval without a hash is void", report: rep(verdict.Pass, 1, nil, nil),
			decisions: []Decision{dec(KindApprove, bob, hash(""))},
			state:     StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"made on change (none)"}},
		{name: "a re-approval of the new hash counts", report: rep(verdict.Pass, 1, nil, nil),
			decisions: []Decision{dec(KindApprove, bob, hash("h0"), at(now.Add(-2*time.Hour))), dec(KindApprove, bob)},
			state:     StateApproved, counted: 1, void: []string{"made on change h0"}},
		{name: "a reject of an old version is void", report: rep(verdict.Pass, 1, nil, nil),
			decisions: []Decision{dec(KindReject, carol, version("v0"), at(now.Add(-2*time.Hour))), dec(KindApprove, bob)},
			state:     StateApproved, counted: 1, void: []string{"twin version v0"}},
	})
}

func TestTiming(t *testing.T) {
	run(t, []tc{
		{name: "in the future", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec(KindApprove, bob, at(now.Add(time.Second)))},
			state: StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"after the time of the evaluation"}},
		{name: "exactly now counts", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec(KindApprove, bob, at(now))},
			state: StateApproved, counted: 1},
		{name: "without a time", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec(KindApprove, bob, at(time.Time{}))},
			state: StateNeedsApproval, unmet: []string{"1 more approval"}, void: []string{"without a time"}},
		{name: "out of order", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindApprove, bob, at(now.Add(-time.Hour))), dec(KindApprove, carol, at(now.Add(-2*time.Hour)))},
			state:     StateNeedsApproval, unmet: []string{"1 more approval"}, counted: 1, void: []string{"recorded out of order"}},
		{name: "a future decision does not push the others out of order", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindApprove, dave, at(now.Add(time.Hour))), dec(KindApprove, bob), dec(KindApprove, carol, at(now))},
			state:     StateApproved, counted: 2, void: []string{"after the time"}, approvers: []string{"bob", "carol"}},
		{name: "equal times are in order", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindApprove, carol), dec(KindApprove, bob)},
			state:     StateApproved, counted: 2, approvers: []string{"bob", "carol"}},
	})
}

func TestGroups(t *testing.T) {
	run(t, []tc{
		{name: "team group satisfied", report: rep(verdict.Pass, 2, apiGroups, nil),
			decisions: []Decision{dec(KindApprove, carol), dec(KindApprove, bob)}, state: StateApproved, counted: 2},
		{name: "team group unsatisfied, count met", report: rep(verdict.Pass, 2, apiGroups, nil),
			decisions: []Decision{dec(KindApprove, carol), dec(KindApprove, dave)},
			state:     StateNeedsApproval, unmet: []string{"an approver from team api-platform"}, counted: 2},
		{name: "group member alone: count unmet", report: rep(verdict.Pass, 2, apiGroups, nil),
			decisions: []Decision{dec(KindApprove, bob)}, state: StateNeedsApproval, unmet: []string{"1 more approval"}, counted: 1},
		{name: "author's group membership does not count", report: rep(verdict.Pass, 2, apiGroups, nil),
			decisions: []Decision{dec(KindApprove, alice), dec(KindApprove, carol), dec(KindApprove, dave)},
			state:     StateNeedsApproval, unmet: []string{"an approver from team api-platform"}, counted: 2, void: []string{"alice wrote"}},
		{name: "a viewer in the group does not count", report: rep(verdict.Pass, 1, apiGroups, nil),
			decisions: []Decision{dec(KindApprove, victor), dec(KindApprove, carol)},
			state:     StateNeedsApproval, unmet: []string{"an approver from team api-platform"}, counted: 1, void: []string{"not an approver"}},
		{name: "plain group names and several groups, one person in two", report: rep(verdict.Pass, 2, []string{"billing", "team sre", "team api-platform"}, nil),
			decisions: []Decision{dec(KindApprove, carol), dec(KindApprove, bob)}, state: StateApproved, counted: 2},
		{name: "more groups than approvals", report: rep(verdict.Pass, 1, []string{"team billing", "team api-platform", "team release-managers"}, nil),
			decisions: []Decision{dec(KindApprove, carol)},
			state:     StateNeedsApproval, unmet: []string{"an approver from team api-platform", "an approver from team release-managers"}, counted: 1},
		{name: "named approver from a report override", report: rep(verdict.Pass, 1, []string{"approver carol (overrides policy floors)"}, nil),
			decisions: []Decision{dec(KindApprove, bob)},
			state:     StateNeedsApproval, unmet: []string{"an approval by carol (overrides policy floors)"}, counted: 1},
		{name: "named approver approves", report: rep(verdict.Pass, 1, []string{"approver carol (overrides policy floors)"}, nil),
			decisions: []Decision{dec(KindApprove, carol)}, state: StateApproved, counted: 1},
		{name: "service without owners cannot be satisfied by a group", report: rep(verdict.Pass, 1, []string{"an owner of billing (none declared)"}, nil),
			decisions: []Decision{dec(KindApprove, carol)},
			state:     StateNeedsApproval, unmet: []string{"an approver from an owner of billing (none declared)"}, counted: 1},
	})
}

func TestSatisfies(t *testing.T) {
	for _, c := range []struct {
		u    User
		g    string
		want bool
	}{
		{bob, "team api-platform", true},
		{bob, "api-platform", true},
		{bob, " team  api-platform ", true},
		{bob, "team API-platform", false}, // groups compare exactly
		{bob, "team api", false},
		{bob, "team ", false},
		{bob, "", false},
		{dave, "release-managers", true}, // the user's "team " prefix is ignored too
		{carol, "approver carol", true},
		{carol, "approver Carol (overrides policy x)", true},
		{bob, "approver carol", false},
		{User{Name: "x", Groups: []string{""}}, "", false},
	} {
		if got := Satisfies(c.u, c.g); got != c.want {
			t.Errorf("Satisfies(%s, %q) = %v", c.u.Name, c.g, got)
		}
	}
}

func TestFreezeBoundaries(t *testing.T) {
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{friday22.Add(-time.Second), false},
		{friday22, true},
		{friday22.Add(time.Nanosecond), true},
		{monday10.Add(-time.Nanosecond), true},
		{monday10, false},
		{now, false},
		{friday22.Add(7 * 24 * time.Hour), true}, // next week
		{friday22.In(time.FixedZone("UTC+2", 2*3600)), true},
	} {
		af, on, err := weekend.ActiveAt(c.at)
		if err != nil {
			t.Fatal(err)
		}
		if on != c.want {
			t.Errorf("at %v: active %v, want %v", c.at, on, c.want)
		}
		if on && (af.Start.After(c.at) || !af.Until.After(c.at) || af.Until.Sub(af.Start) != 60*time.Hour) {
			t.Errorf("at %v: window %v to %v", c.at, af.Start, af.Until)
		}
	}
	// Overlapping daily windows of 30h merge: in force from Monday 00:00
	// on, it never ends before the window of the last day.
	daily := Freeze{Name: "d", Schedule: "0 0 * * MON-WED", Duration: 30 * time.Hour}
	af, on, err := daily.ActiveAt(time.Date(2025, 6, 2, 1, 0, 0, 0, time.UTC))
	if err != nil || !on || !af.Until.Equal(time.Date(2025, 6, 5, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("merged window: %+v %v %v", af, on, err)
	}
	// Back-to-back windows merge too.
	b2b := Freeze{Name: "b", Schedule: "0 */6 * * *", Duration: 6 * time.Hour}
	if _, on, _ := b2b.ActiveAt(now); !on {
		t.Error("back-to-back windows: not in force")
	}
}

func TestFreezeValidate(t *testing.T) {
	for _, f := range []Freeze{
		{Name: "", Schedule: "0 22 * * FRI", Duration: time.Hour},
		{Name: "x", Schedule: "", Duration: time.Hour},
		{Name: "x", Schedule: "0 22 * * FRI", Duration: 0},
		{Name: "x", Schedule: "0 22 * * FRI", Duration: -time.Hour},
		{Name: "x", Schedule: "0 22 * * FRI", Duration: MaxFreezeDuration + 1},
		{Name: "x", Schedule: "0 25 * * FRI", Duration: time.Hour},
		{Name: "x", Schedule: "0 22 * *", Duration: time.Hour},
		{Name: "x", Schedule: "CRON_TZ=Europe/Paris 0 22 * * FRI", Duration: time.Hour},
		{Name: "x", Schedule: "TZ=x", Duration: time.Hour}, // panics in cron v3.0.1's parser
		{Name: "x", Schedule: "@every 1h", Duration: time.Hour},
		{Name: "x", Schedule: "@fortnightly", Duration: time.Hour},
	} {
		if err := f.Validate(); err == nil {
			t.Errorf("%+v: no error", f)
		}
		if _, err := Evaluate(request(rep(verdict.Pass, 0, nil, nil)), nil, []Freeze{f}, now, Options{}); err == nil {
			t.Errorf("Evaluate with %+v: no error", f)
		}
	}
	for _, s := range []string{"0 22 * * FRI", "@weekly", "  0 0 24 12 *  ", "0 0 30 2 *"} {
		if err := (Freeze{Name: "ok", Schedule: s, Duration: time.Hour}).Validate(); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	// A schedule that never fires is never in force.
	if _, on, err := (Freeze{Name: "never", Schedule: "0 0 30 2 *", Duration: MaxFreezeDuration}).ActiveAt(now); on || err != nil {
		t.Errorf("30 February: %v %v", on, err)
	}
}

func TestFreezes(t *testing.T) {
	inFreeze := friday22.Add(time.Hour)
	d := func(kind string, u User, opts ...func(*Decision)) Decision {
		return dec(kind, u, append([]func(*Decision){at(inFreeze.Add(-time.Minute))}, opts...)...)
	}
	freezeUnmet := "freeze 'weekend' in force until 2025-06-09T10:00:00Z: an override, with a reason, by a member of release-managers or team sre"
	run(t, []tc{
		{name: "inactive freeze changes nothing", report: rep(verdict.Pass, 1, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{dec(KindApprove, bob)}, now: friday22.Add(-time.Second), state: StateApproved, counted: 1},
		{name: "active freeze holds an approved change", report: rep(verdict.Pass, 1, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{d(KindApprove, bob)}, now: inFreeze, state: StateNeedsApproval, unmet: []string{freezeUnmet}, counted: 1},
		{name: "active freeze holds a change that needs no approval", report: rep(verdict.Pass, 0, nil, nil), freezes: []Freeze{weekend},
			now: friday22, state: StateNeedsApproval, unmet: []string{freezeUnmet}},
		{name: "freeze ended at its end", report: rep(verdict.Pass, 0, nil, nil), freezes: []Freeze{weekend},
			now: monday10, state: StateApproved},
		{name: "override by an allowed group", report: rep(verdict.Pass, 1, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{d(KindApprove, bob), d(KindOverrideFreeze, carol, onFreeze("weekend"))},
			now:       inFreeze, state: StateApproved, counted: 2},
		{name: "override by the other allowed group (admin)", report: rep(verdict.Pass, 0, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{d(KindOverrideFreeze, dave, onFreeze("weekend"))},
			now:       inFreeze, state: StateApproved, counted: 1},
		{name: "an override given before the window opens counts in it", report: rep(verdict.Pass, 0, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{dec(KindOverrideFreeze, carol, onFreeze("weekend"))},
			now:       inFreeze, state: StateApproved, counted: 1},
		{name: "override by a group not allowed", report: rep(verdict.Pass, 1, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{d(KindApprove, bob), d(KindOverrideFreeze, bob, onFreeze("weekend"))},
			now:       inFreeze, state: StateNeedsApproval, unmet: []string{freezeUnmet}, counted: 1,
			void: []string{`bob is not a member of a group that may override freeze "weekend" (team sre, release-managers)`}},
		{name: "override without a reason", report: rep(verdict.Pass, 0, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{d(KindOverrideFreeze, carol, onFreeze("weekend"), reason(" "))},
			now:       inFreeze, state: StateNeedsApproval, unmet: []string{freezeUnmet}, void: []string{"override-freeze needs a reason"}},
		{name: "override of another freeze", report: rep(verdict.Pass, 0, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{d(KindOverrideFreeze, carol, onFreeze("christmas"))},
			now:       inFreeze, state: StateNeedsApproval, unmet: []string{freezeUnmet}, void: []string{`no freeze named "christmas"`}},
		{name: "override naming no freeze", report: rep(verdict.Pass, 0, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{d(KindOverrideFreeze, carol)},
			now:       inFreeze, state: StateNeedsApproval, unmet: []string{freezeUnmet}, void: []string{"names no freeze"}},
		{name: "override by the author, though in an allowed group", report: rep(verdict.Pass, 0, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{d(KindOverrideFreeze, User{Name: "alice", Roles: []string{RoleApprover}, Groups: []string{"sre"}}, onFreeze("weekend"))},
			now:       inFreeze, state: StateNeedsApproval, unmet: []string{freezeUnmet}, void: []string{"alice wrote this request"}},
		{name: "override of an old hash", report: rep(verdict.Pass, 0, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{d(KindOverrideFreeze, carol, onFreeze("weekend"), hash("h0"))},
			now:       inFreeze, state: StateNeedsApproval, unmet: []string{freezeUnmet}, void: []string{"made on change h0"}},
		{name: "freeze nobody may override", report: rep(verdict.Pass, 0, nil, nil),
			freezes:   []Freeze{{Name: "xmas", Schedule: "0 0 20 12 *", Duration: 14 * 24 * time.Hour}},
			decisions: []Decision{dec(KindOverrideFreeze, dave, onFreeze("xmas"), at(time.Date(2025, 12, 24, 0, 0, 0, 0, time.UTC)))},
			now:       time.Date(2025, 12, 24, 1, 0, 0, 0, time.UTC), state: StateNeedsApproval,
			unmet: []string{"freeze 'xmas' in force until 2026-01-03T00:00:00Z: no group may override it; it ends at 2026-01-03T00:00:00Z"},
			void:  []string{"(none)"}},
		{name: "break-glass does not lift a freeze", report: rep(verdict.Pass, 2, nil, nil), freezes: []Freeze{weekend},
			decisions: []Decision{d(KindBreakGlass, bob, glassFor(time.Hour))},
			now:       inFreeze, state: StateNeedsApproval, unmet: []string{freezeUnmet}, counted: 1, post: true},
	})
	st, err := Evaluate(request(rep(verdict.Pass, 0, nil, nil)), []Decision{dec(KindOverrideFreeze, carol, onFreeze("weekend"), at(inFreeze))},
		[]Freeze{weekend, {Name: "quiet", Schedule: "0 0 * * *", Duration: time.Hour}}, inFreeze, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Freezes) != 1 || st.Freezes[0].Name != "weekend" || st.Freezes[0].Override == nil || st.Freezes[0].Override.User.Name != "carol" ||
		!st.Freezes[0].Start.Equal(friday22) || !st.Freezes[0].Until.Equal(monday10) {
		t.Errorf("active freezes: %+v", st.Freezes)
	}
	if _, err := Evaluate(request(rep(verdict.Pass, 0, nil, nil)), nil, []Freeze{weekend, weekend}, now, Options{}); err == nil {
		t.Error("two freezes of one name: no error")
	}
}

func TestBreakGlass(t *testing.T) {
	hm := []finding.Finding{crit("policy.no-primary")}
	run(t, []tc{
		{name: "valid break-glass replaces the approvals", report: rep(verdict.Pass, 2, apiGroups, nil),
			decisions: []Decision{dec(KindBreakGlass, carol, glassFor(2*time.Hour))},
			state:     StateApproved, counted: 1, post: true},
		{name: "at the maximum", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindBreakGlass, carol, glassFor(4*time.Hour))},
			state:     StateApproved, counted: 1, post: true},
		{name: "longer than the maximum", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindBreakGlass, carol, glassFor(4*time.Hour+time.Second))},
			state:     StateNeedsApproval, unmet: []string{"2 more approvals"}, void: []string{"at most 4h0m0s is allowed"}},
		{name: "a configured maximum", report: rep(verdict.Pass, 2, nil, nil), opts: Options{MaxBreakGlass: 30 * time.Minute},
			decisions: []Decision{dec(KindBreakGlass, carol, at(now.Add(-10*time.Minute)), glassFor(time.Hour))},
			state:     StateNeedsApproval, unmet: []string{"2 more approvals"}, void: []string{"at most 30m0s"}},
		{name: "expired", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindBreakGlass, carol, glassFor(time.Hour))},
			state:     StateNeedsApproval, unmet: []string{"2 more approvals"}, void: []string{"break-glass expired at 2025-06-04T12:00:00Z"}, post: true},
		{name: "without a reason", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindBreakGlass, carol, glassFor(2*time.Hour), reason(""))},
			state:     StateNeedsApproval, unmet: []string{"2 more approvals"}, void: []string{"break-glass needs a reason"}},
		{name: "without an end", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindBreakGlass, carol)},
			state:     StateNeedsApproval, unmet: []string{"2 more approvals"}, void: []string{"without an end"}},
		{name: "ending before it starts", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindBreakGlass, carol, until(now.Add(-2*time.Hour)))},
			state:     StateNeedsApproval, unmet: []string{"2 more approvals"}, void: []string{"before it starts"}},
		{name: "by the author", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindBreakGlass, alice, glassFor(2*time.Hour))},
			state:     StateNeedsApproval, unmet: []string{"2 more approvals"}, void: []string{"alice wrote this request and cannot break glass for it"}},
		{name: "never past a hard-mandatory violation", report: rep(verdict.Block, 2, nil, hm, hard("no-primary", "policy.no-primary")),
			decisions: []Decision{dec(KindBreakGlass, carol, glassFor(2*time.Hour))},
			state:     StateBlocked, unmet: []string{"policy no-primary is hard-mandatory and violated: nothing overrides it, not even break-glass"}, counted: 1, post: true},
		{name: "still needs soft-mandatory overrides", report: rep(verdict.Block, 2, nil, []finding.Finding{crit("capacity.floor.api")}, soft("floors", "capacity.floor.api")),
			decisions: []Decision{dec(KindBreakGlass, carol, glassFor(2*time.Hour))},
			state:     StateNeedsApproval, unmet: []string{"override of policy floors by an approver, with a reason"}, counted: 1, post: true},
		{name: "a renewal by the same person while the first runs is a duplicate", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindBreakGlass, carol, glassFor(2*time.Hour)), dec(KindBreakGlass, carol, at(now), glassFor(2*time.Hour))},
			state:     StateApproved, counted: 1, void: []string{"already recorded this break-glass"}, post: true},
		{name: "a renewal after expiry counts", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindBreakGlass, carol, at(now.Add(-5*time.Hour)), glassFor(time.Hour)), dec(KindBreakGlass, carol, at(now), glassFor(time.Hour))},
			state:     StateApproved, counted: 1, void: []string{"expired"}, post: true},
	})
	st, err := Evaluate(request(rep(verdict.Pass, 2, nil, nil)), []Decision{
		dec(KindBreakGlass, carol, glassFor(2*time.Hour)), dec(KindBreakGlass, dave, at(now.Add(-30*time.Minute)), glassFor(3*time.Hour))}, nil, now, Options{})
	if err != nil || st.BreakGlass == nil || st.BreakGlass.User.Name != "dave" || !st.PostReview {
		t.Errorf("break-glass in effect: %+v %v", st.BreakGlass, err)
	}
}

func TestPolicies(t *testing.T) {
	floor := []finding.Finding{crit("capacity.floor.api"), {ID: "dns.ttl", Severity: finding.Warning}}
	run(t, []tc{
		{name: "soft-mandatory violation needs an override", report: rep(verdict.Block, 1, nil, floor, soft("floors", "capacity.floor.api")),
			decisions: []Decision{dec(KindApprove, bob)},
			state:     StateNeedsApproval, unmet: []string{"override of policy floors by an approver, with a reason"}, counted: 1},
		{name: "soft-mandatory override lets it through", report: rep(verdict.Block, 1, nil, floor, soft("floors", "capacity.floor.api")),
			decisions: []Decision{dec(KindApprove, bob), dec(KindOverridePolicy, carol, onPolicy("floors"))},
			state:     StateApproved, counted: 2},
		{name: "the override alone is not an approval", report: rep(verdict.Block, 1, nil, floor, soft("floors", "capacity.floor.api")),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("floors"))},
			state:     StateNeedsApproval, unmet: []string{"1 more approval"}, counted: 1},
		{name: "override without a reason", report: rep(verdict.Block, 0, nil, floor, soft("floors", "capacity.floor.api")),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("floors"), reason(""))},
			state:     StateNeedsApproval, unmet: []string{"override of policy floors by an approver, with a reason"}, void: []string{"override-policy needs a reason"}},
		{name: "override by a viewer", report: rep(verdict.Block, 0, nil, floor, soft("floors", "capacity.floor.api")),
			decisions: []Decision{dec(KindOverridePolicy, victor, onPolicy("floors"))},
			state:     StateNeedsApproval, unmet: []string{"override of policy floors by an approver, with a reason"}, void: []string{"not an approver"}},
		{name: "hard-mandatory never", report: rep(verdict.Block, 0, nil, []finding.Finding{crit("policy.no-primary")}, hard("no-primary", "policy.no-primary")),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("no-primary")), dec(KindApprove, bob)},
			state:     StateBlocked, unmet: []string{"policy no-primary is hard-mandatory and violated: nothing overrides it, not even break-glass"}, counted: 1,
			void: []string{"policy no-primary is hard-mandatory and can never be overridden"}},
		{name: "hard and soft together: still blocked", report: rep(verdict.Block, 0, nil, []finding.Finding{crit("a"), crit("b")}, hard("h", "a"), soft("s", "b")),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("s"))},
			state:     StateBlocked, unmet: []string{"policy h is hard-mandatory and violated: nothing overrides it, not even break-glass"}, counted: 1},
		{name: "a critical finding no policy governs blocks", report: rep(verdict.Block, 0, nil, []finding.Finding{crit("a"), crit("b")}, soft("s", "b")),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("s"))},
			state:     StateBlocked, unmet: []string{"finding a is critical and no soft-mandatory policy governs it: a block verdict can only be lifted by overriding soft-mandatory policies"}, counted: 1},
		{name: "block without critical findings or policies", report: rep(verdict.Block, 0, nil, nil),
			state: StateBlocked, unmet: []string{"the verdict is block and the report names no critical finding a soft-mandatory override could lift"}},
		{name: "a shadow policy governs nothing", report: rep(verdict.Block, 0, nil, []finding.Finding{crit("a")}, policy.Outcome{Policy: "s", Enforcement: policy.SoftMandatory, Shadow: true, Violated: true, Findings: []string{"a"}}),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("s"))},
			state:     StateBlocked, unmet: []string{"finding a is critical and no soft-mandatory policy governs it: a block verdict can only be lifted by overriding soft-mandatory policies"},
			void: []string{"shadow mode"}},
		{name: "two soft policies, one overridden", report: rep(verdict.Block, 0, nil, []finding.Finding{crit("a"), crit("b")}, soft("t", "b"), soft("s", "a")),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("s"))},
			state:     StateNeedsApproval, unmet: []string{"override of policy t by an approver, with a reason"}, counted: 1},
		{name: "overridden in the report already", report: rep(verdict.Warn, 1, []string{"approver carol (overrides policy s)"}, nil,
			policy.Outcome{Policy: "s", Enforcement: policy.SoftMandatory, Violated: true, Overridden: &policy.Override{Policy: "s", Approver: "carol", Reason: "r"}}),
			decisions: []Decision{dec(KindOverridePolicy, bob, onPolicy("s")), dec(KindApprove, carol)},
			state:     StateApproved, counted: 1, void: []string{"already overridden in the report by carol"}},
		{name: "overrides of policies that need none", report: rep(verdict.Warn, 0, nil, nil,
			policy.Outcome{Policy: "adv", Enforcement: policy.Advisory, Violated: true}, policy.Outcome{Policy: "fine", Enforcement: policy.SoftMandatory}),
			decisions: []Decision{dec(KindOverridePolicy, bob, onPolicy("adv")), dec(KindOverridePolicy, bob, onPolicy("fine")), dec(KindOverridePolicy, bob, onPolicy("ghost")), dec(KindOverridePolicy, bob)},
			state:     StateApproved, void: []string{"names no policy", "advisory and never blocks", "not violated", `no policy "ghost"`}},
		{name: "unknown enforcement counts as hard", report: rep(verdict.Block, 0, nil, []finding.Finding{crit("a")}, policy.Outcome{Policy: "x", Enforcement: "strict", Violated: true, Findings: []string{"a"}}),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("x"))},
			state:     StateBlocked, unmet: []string{`policy x is violated and its enforcement "strict" is unknown: it cannot be overridden`}, void: []string{"only soft-mandatory policies"}},
		{name: "same person overriding twice counts once", report: rep(verdict.Block, 0, nil, []finding.Finding{crit("a")}, soft("s", "a")),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("s")), dec(KindOverridePolicy, carol, onPolicy("s"), at(now))},
			state:     StateApproved, counted: 1, void: []string{"already recorded this override-policy"}},
	})
}

func TestRejectWins(t *testing.T) {
	run(t, []tc{
		{name: "a reject after approvals", report: rep(verdict.Pass, 1, nil, nil),
			decisions: []Decision{dec(KindApprove, bob), dec(KindReject, carol, at(now))}, state: StateRejected, counted: 2},
		{name: "a reject before approvals", report: rep(verdict.Pass, 1, nil, nil),
			decisions: []Decision{dec(KindReject, carol), dec(KindApprove, bob, at(now))}, state: StateRejected, counted: 2},
		{name: "a reject over break-glass", report: rep(verdict.Pass, 2, nil, nil),
			decisions: []Decision{dec(KindBreakGlass, bob, glassFor(2*time.Hour)), dec(KindReject, dave, at(now))},
			state:     StateRejected, unmet: nil, counted: 2, post: true},
		{name: "a reject of a blocked change", report: rep(verdict.Block, 0, nil, nil), decisions: []Decision{dec(KindReject, carol)},
			state: StateRejected, unmet: []string{"the verdict is block and the report names no critical finding a soft-mandatory override could lift"}, counted: 1},
		{name: "the author withdraws", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec(KindApprove, bob), dec(KindReject, alice, at(now))},
			state: StateRejected, counted: 2},
		{name: "a viewer cannot reject", report: rep(verdict.Pass, 1, nil, nil), decisions: []Decision{dec(KindApprove, bob), dec(KindReject, victor, at(now))},
			state: StateApproved, counted: 1, void: []string{"not an approver"}},
	})
}

func TestUnknownVerdict(t *testing.T) {
	u := []finding.Finding{unk("reachability.not-compared")}
	accept := "acceptance of the unknown verdict (accept-unknown) by an approver, with a reason"
	run(t, []tc{
		{name: "approvals alone are not enough", report: rep(verdict.Unknown, 1, nil, u), decisions: []Decision{dec(KindApprove, bob)},
			state: StateNeedsApproval, unmet: []string{accept}, counted: 1},
		{name: "acceptance alone is not enough", report: rep(verdict.Unknown, 1, nil, u), decisions: []Decision{dec(KindAcceptUnknown, carol)},
			state: StateNeedsApproval, unmet: []string{"1 more approval"}, counted: 1},
		{name: "both", report: rep(verdict.Unknown, 1, nil, u), decisions: []Decision{dec(KindApprove, bob), dec(KindAcceptUnknown, carol)},
			state: StateApproved, counted: 2},
		{name: "the same person may approve and accept", report: rep(verdict.Unknown, 1, nil, u), decisions: []Decision{dec(KindApprove, bob), dec(KindAcceptUnknown, bob)},
			state: StateApproved, counted: 2},
		{name: "even at low risk someone accepts", report: rep(verdict.Unknown, 0, nil, u),
			state: StateNeedsApproval, unmet: []string{accept}},
		{name: "acceptance without a reason", report: rep(verdict.Unknown, 0, nil, u), decisions: []Decision{dec(KindAcceptUnknown, carol, reason(""))},
			state: StateNeedsApproval, unmet: []string{accept}, void: []string{"accept-unknown needs a reason"}},
		{name: "unknown verdict without unknown findings", report: rep(verdict.Unknown, 0, nil, nil),
			state: StateNeedsApproval, unmet: []string{accept}},
		{name: "an unknown governed by an overridden soft-mandatory policy needs no acceptance", report: rep(verdict.Unknown, 0, nil, u, soft("net", "reachability.not-compared")),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("net"))}, state: StateApproved, counted: 1},
		{name: "block with an unknown left after overrides", report: rep(verdict.Block, 0, nil, append([]finding.Finding{crit("a")}, u...), soft("s", "a")),
			decisions: []Decision{dec(KindOverridePolicy, carol, onPolicy("s"))},
			state:     StateNeedsApproval, unmet: []string{accept}, counted: 1},
		{name: "nothing to accept on a pass", report: rep(verdict.Pass, 0, nil, nil), decisions: []Decision{dec(KindAcceptUnknown, carol)},
			state: StateApproved, void: []string{"the verdict is pass and no finding is unknown"}},
	})
}

func TestEvaluateErrors(t *testing.T) {
	good := rep(verdict.Pass, 0, nil, nil)
	for name, c := range map[string]struct {
		req Request
		now time.Time
		o   Options
	}{
		"no report":                 {req: Request{Author: "a", ChangeHash: "h", TwinVersion: "v"}, now: now},
		"no verdict":                {req: Request{Author: "a", ChangeHash: "h", TwinVersion: "v", Report: &check.Report{Risk: good.Risk}}, now: now},
		"no risk":                   {req: Request{Author: "a", ChangeHash: "h", TwinVersion: "v", Report: &check.Report{Verdict: good.Verdict}}, now: now},
		"strange verdict":           {req: request(rep("maybe", 0, nil, nil)), now: now},
		"negative count":            {req: request(rep(verdict.Pass, -1, nil, nil)), now: now},
		"no hash":                   {req: Request{Author: "a", TwinVersion: "v", Report: good}, now: now},
		"no twin version":           {req: Request{Author: "a", ChangeHash: "h", Report: good}, now: now},
		"no author":                 {req: Request{ChangeHash: "h", TwinVersion: "v", Report: good}, now: now},
		"no time":                   {req: request(good)},
		"negative maximum":          {req: request(good), now: now, o: Options{MaxBreakGlass: -time.Hour}},
		"two outcomes for a policy": {req: request(rep(verdict.Pass, 0, nil, nil, soft("s"), soft("s"))), now: now},
	} {
		if _, err := Evaluate(c.req, nil, nil, c.now, c.o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestOrder checks the order of the status's lists: blockers first, then
// overrides, the unknown, freezes and approvals; decisions in time order.
func TestOrder(t *testing.T) {
	r := rep(verdict.Block, 3, []string{"team sre", "team api-platform", "team sre"}, []finding.Finding{crit("a"), crit("b"), crit("c"), unk("u")},
		soft("zeta", "c"), hard("h", "a"), soft("alpha", "b"))
	inFreeze := friday22.Add(time.Hour)
	ds := []Decision{dec(KindApprove, dave, at(inFreeze.Add(-time.Hour))), dec(KindApprove, carol, at(inFreeze.Add(-time.Hour))), dec(KindApprove, victor, at(inFreeze))}
	st, err := Evaluate(request(r), ds, []Freeze{weekend}, inFreeze, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"policy h is hard-mandatory and violated: nothing overrides it, not even break-glass",
		"override of policy alpha by an approver, with a reason",
		"override of policy zeta by an approver, with a reason",
		"acceptance of the unknown verdict (accept-unknown) by an approver, with a reason",
		"freeze 'weekend' in force until 2025-06-09T10:00:00Z: an override, with a reason, by a member of release-managers or team sre",
		"1 more approval",
		"an approver from team api-platform",
	}
	if st.State != StateBlocked || !reflect.DeepEqual(st.Unmet, want) {
		t.Errorf("%s\n got %q\nwant %q", st.State, st.Unmet, want)
	}
	if !reflect.DeepEqual(st.Groups, []string{"team api-platform", "team sre"}) || st.Required != 3 {
		t.Errorf("requirement %d %q", st.Required, st.Groups)
	}
	if len(st.Counted) != 2 || st.Counted[0].User.Name != "carol" || st.Counted[1].User.Name != "dave" {
		t.Errorf("counted in time order, then by name: %+v", st.Counted)
	}
}

// FuzzFreeze feeds arbitrary schedules, durations and times to a freeze:
// never a panic, and a window in force always covers the time asked.
func FuzzFreeze(f *testing.F) {
	for _, s := range []string{"0 22 * * FRI", "@weekly", "*/5 * * * *", "0 0 30 2 *", "TZ=x", "CRON_TZ=UTC", "@every 1h", "1-2/0 * * * *", "60 * * * *", "* * * * * *", "0 0 1 1 SUN-SAT/3", "?"} {
		f.Add(s, int64(60*time.Hour), now.Unix())
	}
	f.Add("* * * * *", int64(MaxFreezeDuration), int64(0))
	f.Fuzz(func(t *testing.T, schedule string, duration, unix int64) {
		// Times between 1970 and about 2100.
		at := time.Unix(unix%(130*365*24*3600), 0).UTC()
		if at.Before(time.Unix(0, 0)) {
			at = at.Add(130 * 365 * 24 * time.Hour)
		}
		fr := Freeze{Name: "f", Schedule: schedule, Duration: time.Duration(duration), OverrideGroups: []string{"sre"}}
		af, on, err := fr.ActiveAt(at)
		if err != nil {
			if on || fr.Validate() == nil {
				t.Fatalf("%q: error %v, active %v, Validate %v", schedule, err, on, fr.Validate())
			}
			return
		}
		if on && (af.Start.After(at) || !af.Until.After(at) || af.Until.Sub(af.Start) < fr.Duration) {
			t.Fatalf("%q for %v at %v: window %v to %v", schedule, fr.Duration, at, af.Start, af.Until)
		}
		if _, err := Evaluate(request(rep(verdict.Pass, 0, nil, nil)), nil, []Freeze{fr}, at, Options{}); err != nil {
			t.Fatal(err)
		}
	})
}
