package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/preflight-sh/preflight/approval"
	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/policy"
	"github.com/preflight-sh/preflight/risk"
	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/verdict"
)

// WorkerActor is the name the verification jobs act under in the audit log.
const WorkerActor = "preflight-worker"

// verifier runs verification jobs.
type verifier struct {
	st      *store.Store
	tw      *Twin
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
	// hook, if set, runs after the check and before its result is recorded
	// (tests use it to stop the server mid-job).
	hook func(ctx context.Context, id int64) error
}

// ParseChange parses a change request's body by its kind: a change file
// (file, and diff: the change file `preflight diff` writes) or operator
// commands, one a line.
func ParseChange(kind store.Kind, body string) (*change.ChangeSet, error) {
	switch kind {
	case store.FileChange, store.DiffChange:
		return change.ParseFile("change.yaml", []byte(body))
	case store.CommandChange:
		return change.ParseCommandFile("change.cmd", []byte(body))
	}
	return nil, fmt.Errorf("unknown kind of change %q (file, command or diff)", kind)
}

// noArtifacts refuses to read artifacts: a submitted change cannot name
// files on the server's disk.
func noArtifacts(path string) ([]byte, error) {
	return nil, fmt.Errorf("%s: the review service does not read artifact files from its disk", path)
}

// run verifies change request id: proposed → verifying → the state the
// check and the approval rules give. It is idempotent: a request already
// past verifying is left alone, so a job retried after a crash records its
// verification once.
func (v *verifier) run(ctx context.Context, id int64, attempt int) (err error) {
	start := time.Now()
	defer func() {
		if v.metrics != nil {
			if err != nil {
				v.metrics.jobsFailed.Inc()
			} else {
				v.metrics.jobsProcessed.Inc()
			}
		}
		v.log.Info("verification job", "request", id, "attempt", attempt, "ms", time.Since(start).Milliseconds(), "error", errString(err))
	}()
	c, err := v.st.Change(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	switch c.State {
	case store.Proposed:
		if err := v.st.Transition(ctx, id, store.Proposed, store.Verifying, WorkerActor); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
		if c, err = v.st.Change(ctx, id); err != nil {
			return err
		}
		if c.State != store.Verifying {
			return nil
		}
	case store.Verifying:
		// A retry: the last attempt died before recording.
	default:
		return nil // verified already
	}
	rec := store.Verification{ChangeHash: c.ChangeHash, TwinVersion: v.tw.Version}
	rep, cerr := v.check(c)
	if cerr != nil {
		// The change cannot be applied to the twin: nothing to approve.
		rec.Report, _ = json.Marshal(map[string]string{"error": cerr.Error()})
		rec.Verdict, rec.To = verdict.Block, store.Rejected
	} else {
		if rec.Report, err = json.Marshal(rep); err != nil {
			return err
		}
		rec.Verdict = rep.Verdict.Decision
		c.Report, c.TwinVersion = rec.Report, rec.TwinVersion
		st, err := evaluate(ctx, v.st, c, rep, nil, v.now())
		if err != nil {
			return err
		}
		switch st.State {
		case approval.StateApproved:
			rec.To = store.Approved
		case approval.StateBlocked, approval.StateRejected:
			rec.To = store.Rejected
		default:
			rec.To = store.NeedsApproval
		}
	}
	if v.hook != nil {
		if err := v.hook(ctx, id); err != nil {
			return err
		}
	}
	if err := v.st.RecordVerification(ctx, id, rec, WorkerActor); err != nil {
		if errors.Is(err, store.ErrConflict) {
			if c2, err2 := v.st.Change(ctx, id); err2 == nil && c2.State != store.Verifying {
				return nil // someone recorded it meanwhile
			}
		}
		return err
	}
	return nil
}

// check runs the check of the change on the twin.
func (v *verifier) check(c store.ChangeRequest) (*check.Report, error) {
	cs, err := ParseChange(c.Kind, c.Body)
	if err != nil {
		return nil, err
	}
	if cs.Title == "" {
		cs.Title = c.Title
	}
	return check.Run(v.tw.Dir, v.tw.Snapshot, cs, check.Options{ReadFile: noArtifacts})
}

// evaluate runs the approval rules on a verified request with its
// decisions (nil: load them) and the freeze windows.
func evaluate(ctx context.Context, st *store.Store, c store.ChangeRequest, rep *check.Report, ds []store.Decision, now time.Time) (approval.Status, error) {
	if ds == nil {
		var err error
		if ds, err = st.Decisions(ctx, c.ID); err != nil {
			return approval.Status{}, err
		}
	}
	ws, err := st.FreezeWindows(ctx)
	if err != nil {
		return approval.Status{}, err
	}
	var freezes []approval.Freeze
	for _, w := range ws {
		freezes = append(freezes, approval.Freeze{Name: w.Name, Schedule: w.Schedule, Duration: w.Duration, OverrideGroups: w.OverrideGroups})
	}
	var decisions []approval.Decision
	for _, d := range ds {
		roles := make([]string, len(d.Roles))
		for i, r := range d.Roles {
			roles[i] = string(r)
		}
		decisions = append(decisions, approval.Decision{Kind: string(d.Kind), User: approval.User{Name: d.User, Roles: roles, Groups: d.Groups},
			Policy: d.Policy, Freeze: d.Freeze, Reason: d.Reason, ChangeHash: d.ChangeHash, TwinVersion: d.TwinVersion, At: d.At, Until: d.Until})
		if d.At.After(now) {
			now = d.At // the store's clock ran a little ahead of ours
		}
	}
	return approval.Evaluate(request(c, rep), decisions, freezes, now, approval.Options{})
}

func request(c store.ChangeRequest, rep *check.Report) approval.Request {
	return approval.Request{ID: fmt.Sprint(c.ID), Author: c.Author, Editors: c.Editors, ChangeHash: c.ChangeHash,
		TwinVersion: c.TwinVersion, Report: rep}
}

// decodeReport reads a stored report; nil when there is none or it is the
// record of a change that could not be checked.
func decodeReport(c store.ChangeRequest) *check.Report {
	if len(c.Report) == 0 {
		return nil
	}
	// Only what the approval rules read: decoding the operations' values
	// and the blast radius costs more, and only the change page needs
	// them (fullReport).
	var rep struct {
		Findings []finding.Finding `json:"findings"`
		Verdict  *verdict.Verdict  `json:"verdict"`
		Risk     *risk.Assessment  `json:"risk"`
		Policies []policy.Outcome  `json:"policies"`
	}
	if err := json.Unmarshal(c.Report, &rep); err != nil || rep.Verdict == nil || rep.Risk == nil {
		return nil
	}
	return &check.Report{Findings: rep.Findings, Verdict: rep.Verdict, Risk: rep.Risk, Policies: rep.Policies}
}

// fullReport reads a stored report whole, operations, blast radius and
// rollback included; nil as for decodeReport.
func fullReport(c store.ChangeRequest) *check.Report {
	if len(c.Report) == 0 {
		return nil
	}
	var rep check.Report
	if err := json.Unmarshal(c.Report, &rep); err != nil || rep.Verdict == nil || rep.Risk == nil {
		return nil
	}
	return &rep
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
