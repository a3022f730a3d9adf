package cli

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/report"
	"github.com/preflight-sh/preflight/sim"
	"github.com/preflight-sh/preflight/svgplot"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
	"github.com/preflight-sh/preflight/verdict"
)

// Defaults of simulate when neither a flag nor the scenario says.
const (
	defaultSimDuration = time.Hour
	defaultSimSeed     = 1
	maxLogLines        = 40 // of the text output
	topComponents      = 5
)

// simFlags are the flags of simulate.
type simFlags struct {
	changeFlags
	scenario string
	duration string
	start    string
	tick     string
	changeAt string
	seed     int64
	svg      string
	sweep    string
	sweepAt  string
}

func simulateCmd(e *env) *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "simulate TWIN [--change FILE | --command \"...\"] [--scenario FILE]",
		Short: "Run the twin over time with a change and a scenario of events, and judge the run",
		Long: `Run the twin over time, second by second: demand follows its daily profile,
requests flow through DNS, load balancers and services with their queues,
health checks, retries, crashes and autoscaling. The change (if given) is
applied at --change-at; the events of a scenario file (failures, restores,
changes, rollbacks, demand surges) at their times.

With a change, the same run without it is simulated too (the baseline), so
that problems the twin already has are told from those the change causes:
a violation the baseline shows as well is a warning, not a block.

With --sweep zone (or site), the run is repeated once for every zone (or
site) that is up, failed at --sweep-at, with the change and without it;
the cases are listed worst first. The verdict is the main run's.

Duration, start and seed come from the flags when given, else from the
scenario file, else the defaults: 1h, the hour of the daily demand peak,
and 1.

Exit codes: 0 safe (pass or warn), 1 blocked or undecided, 2 bad input or
usage, 3 internal error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSimulate(e, cmd, &f, args[0])
		},
	}
	f.changeFlags.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.scenario, "scenario", "", "scenario file (YAML): a timeline of failures, restores, changes, rollbacks and demand surges")
	fl.StringVar(&f.duration, "duration", "1h", "how long to simulate (the scenario's duration when not given)")
	fl.StringVar(&f.start, "start", "", "time of day (UTC) the run starts at, e.g. 14h or 14:30 (default: the scenario's, else the hour of the daily demand peak)")
	fl.StringVar(&f.tick, "tick", "1s", "time step of the simulation (1ms to 1m)")
	fl.StringVar(&f.changeAt, "change-at", "5m", "when the change is applied, from the start of the run")
	fl.Int64Var(&f.seed, "seed", defaultSimSeed, "seed for the phases of health checks (the scenario's when not given); the same seed gives the same run")
	fl.StringVar(&f.svg, "svg", "", "also write a chart of the run to `FILE` (SVG)")
	fl.StringVar(&f.sweep, "sweep", "", "also run the timeline once per zone or site that is up, failed at --sweep-at: zone or site")
	fl.StringVar(&f.sweepAt, "sweep-at", "10m", "when the sweep fails each zone or site, from the start of the run")
	return cmd
}

// simRun is everything one simulate invocation decided and computed.
type simRun struct {
	twin     string
	cs       *change.ChangeSet
	scenario *sim.Scenario
	scFile   string
	changeAt time.Duration
	sweepAt  time.Duration
	after    *sim.Result
	baseline *sim.Result
	sweep    string
	cases    []sim.SweepCase
	findings []finding.Finding
	verdict  verdict.Verdict
}

func runSimulate(e *env, cmd *cobra.Command, f *simFlags, twinPath string) error {
	if err := checkFormat(f.format, "text", "json"); err != nil {
		return err
	}
	var cs *change.ChangeSet
	if f.file != "" || f.command != "" {
		var err error
		if cs, err = f.changeFlags.load(); err != nil {
			return err
		}
	}
	flags := cmd.Flags()
	tick, err := durationFlag("tick", f.tick)
	if err != nil {
		return err
	}
	if tick < time.Millisecond || tick > time.Minute {
		return badInput(fmt.Errorf("preflight: --tick: tick %v is out of range: use 1ms to 1m", units.Duration(tick)))
	}
	changeAt, err := durationFlag("change-at", f.changeAt)
	if err != nil {
		return err
	}
	if flags.Changed("change-at") && cs == nil {
		return badInput(fmt.Errorf("preflight: --change-at says when to apply the change, but no change is given: add --change FILE or --command \"...\""))
	}
	if f.sweep != "" && f.sweep != "zone" && f.sweep != "site" {
		return badInput(fmt.Errorf("preflight: unknown --sweep %q: use zone or site", f.sweep))
	}
	sweepAt, err := durationFlag("sweep-at", f.sweepAt)
	if err != nil {
		return err
	}
	if flags.Changed("sweep-at") && f.sweep == "" {
		return badInput(fmt.Errorf("preflight: --sweep-at says when the sweep fails each zone or site, but no sweep is asked for: add --sweep zone or --sweep site"))
	}
	var duration, start time.Duration
	if flags.Changed("duration") {
		if duration, err = durationFlag("duration", f.duration); err != nil {
			return err
		}
		if duration == 0 {
			return badInput(fmt.Errorf("preflight: --duration must be longer than 0"))
		}
	}
	if flags.Changed("start") {
		if start, err = timeOfDayFlag(f.start); err != nil {
			return err
		}
	}
	s, err := loadTwin(twinPath)
	if err != nil {
		return err
	}
	if cs != nil {
		if _, err := change.Apply(s, cs); err != nil {
			return badInput(fmt.Errorf("%w\npreflight: the change cannot be applied to the twin %s", err, twinPath))
		}
	}
	r := &simRun{twin: twinPath, cs: cs, changeAt: changeAt, scFile: f.scenario, sweep: f.sweep, sweepAt: sweepAt}
	var scEvents []sim.Event
	if f.scenario != "" {
		sc, err := sim.LoadScenario(f.scenario)
		if err != nil {
			return badInput(fmt.Errorf("%w\npreflight: the scenario %s cannot be used; fix it and run again", err, f.scenario))
		}
		r.scenario, scEvents = sc, sc.Events
	}

	// Options: a flag given wins over the scenario, the scenario over the defaults.
	o := sim.Options{Tick: tick, Seed: defaultSimSeed, Cache: sim.NewCache()}
	switch {
	case flags.Changed("duration"):
		o.Duration = duration
	case r.scenario != nil && r.scenario.Duration > 0:
		o.Duration = r.scenario.Duration
	default:
		o.Duration = defaultSimDuration
	}
	switch {
	case flags.Changed("start"):
		o.Start = start
	case r.scenario != nil && r.scenario.Start > 0:
		o.Start = r.scenario.Start
	default:
		o.Start = sim.PeakHour(s)
	}
	switch {
	case flags.Changed("seed"):
		o.Seed = f.seed
	case r.scenario != nil && r.scenario.Seed != 0:
		o.Seed = r.scenario.Seed
	}
	if o.Duration < tick {
		return badInput(fmt.Errorf("preflight: the run (%v) is shorter than the tick (%v): lengthen --duration or shorten --tick", units.Duration(o.Duration), units.Duration(tick)))
	}
	if f.sweep != "" && sweepAt >= o.Duration {
		return badInput(fmt.Errorf("preflight: --sweep-at %v is outside the run (0 to %v): fail earlier or lengthen --duration", units.Duration(sweepAt), units.Duration(o.Duration)))
	}

	after, base, err := timeline(cs, changeAt, scEvents, o.Duration)
	if err != nil {
		return err
	}
	o.Events = after

	// The run with the change and, with a change, the baseline, in parallel.
	var wg sync.WaitGroup
	var errAfter, errBase error
	var ob *sim.Options
	wg.Go(func() { r.after, errAfter = simulateSafely(s, o) })
	if cs != nil {
		b := o
		b.Events = base
		ob = &b
		wg.Go(func() { r.baseline, errBase = simulateSafely(s, b) })
	}
	wg.Wait()
	var errSweep error
	if errAfter == nil && errBase == nil && f.sweep != "" {
		r.cases, errSweep = sim.Sweep(s, o, ob, f.sweep, sweepAt)
	}
	for _, err := range []error{errAfter, errBase, errSweep} {
		if err == nil {
			continue
		}
		if ie, ok := err.(*exitError); ok {
			return ie
		}
		return badInput(fmt.Errorf("preflight: %w", err))
	}
	r.findings = sim.Findings(s, r.after, r.baseline, o)
	if r.findings == nil {
		r.findings = []finding.Finding{}
	}
	r.verdict = verdict.Decide(r.findings)

	if f.svg != "" {
		if err := writeChart(f.svg, r); err != nil {
			return err
		}
	}
	if err := e.emit(func(w io.Writer) error {
		if f.format == "json" {
			return report.JSON(w, r.json())
		}
		return r.text(w, report.Style{Color: e.color})
	}); err != nil {
		return err
	}
	if !r.verdict.Safe() {
		return &exitError{code: ExitBlocked}
	}
	return nil
}

// timeline orders the events of the run with the change (after) and of
// the baseline without it: the change given on the command line first, so
// that a scenario event at the same time (its rollback, say) comes after
// it, then the scenario's, stably by time. The baseline leaves out the
// change and its rollbacks.
func timeline(cs *change.ChangeSet, changeAt time.Duration, scEvents []sim.Event, duration time.Duration) (after, base []sim.Event, err error) {
	if cs != nil {
		if changeAt >= duration {
			return nil, nil, badInput(fmt.Errorf("preflight: --change-at %v is outside the run (0 to %v): apply the change earlier or lengthen --duration", units.Duration(changeAt), units.Duration(duration)))
		}
		title := cs.Title
		if title == "" {
			title = cs.Source
		}
		after = append(after, sim.Event{At: changeAt, Name: sim.CLIChange, Label: "apply " + title, Change: cs, Pos: twin.Pos{File: "--change-at"}})
	}
	for _, ev := range scEvents {
		switch {
		case ev.At >= duration:
			return nil, nil, badInput(fmt.Errorf("%s: event %q at %v is outside the run (0 to %v): move it or lengthen --duration", ev.Pos, ev.Name, units.Duration(ev.At), units.Duration(duration)))
		case cs != nil && ev.Name == sim.CLIChange:
			return nil, nil, badInput(fmt.Errorf("%s: an event is named %q, the name of the change given on the command line: rename it", ev.Pos, sim.CLIChange))
		case ev.Rollback == sim.CLIChange && cs == nil:
			return nil, nil, badInput(fmt.Errorf("%s: event %q rolls back the change given on the command line, but none is given: add --change FILE or --command \"...\"", ev.Pos, ev.Name))
		case ev.Rollback == sim.CLIChange && ev.At < changeAt:
			return nil, nil, badInput(fmt.Errorf("%s: event %q at %v rolls back the change before it is applied (--change-at %v)", ev.Pos, ev.Name, units.Duration(ev.At), units.Duration(changeAt)))
		}
		if ev.Rollback != sim.CLIChange {
			base = append(base, ev)
		}
		after = append(after, ev)
	}
	byTime := func(evs []sim.Event) {
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].At < evs[j].At })
	}
	byTime(after)
	byTime(base)
	return after, base, nil
}

// simulateSafely runs sim.Run, turning a panic (in its own goroutine,
// where Main's recover does not reach) into an internal error.
func simulateSafely(s *twin.Snapshot, o sim.Options) (r *sim.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, &exitError{code: ExitInternal, err: fmt.Errorf("preflight: internal error: %v\n%s\nplease report this with the command you ran", p, debug.Stack())}
		}
	}()
	return sim.Run(s, o)
}

func durationFlag(name, v string) (time.Duration, error) {
	d, err := units.ParseDuration(v)
	if err != nil {
		return 0, badInput(fmt.Errorf("preflight: --%s: %w", name, err))
	}
	return d.Std(), nil
}

// timeOfDayFlag parses --start: a duration since midnight UTC (14h,
// 14h30m) or a clock time (14:30, 14:30:15).
func timeOfDayFlag(v string) (time.Duration, error) {
	var d time.Duration
	if strings.Contains(v, ":") {
		parts := strings.Split(strings.TrimSpace(v), ":")
		ok := len(parts) <= 3
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || len(p) > 2 || (i > 0 && n > 59) {
				ok = false
				break
			}
			d += time.Duration(n) * []time.Duration{time.Hour, time.Minute, time.Second}[min(i, 2)]
		}
		if !ok {
			return 0, badInput(fmt.Errorf("preflight: --start: invalid time of day %q (write e.g. 14h, 14h30m or 14:30)", v))
		}
	} else {
		u, err := units.ParseDuration(v)
		if err != nil {
			return 0, badInput(fmt.Errorf("preflight: --start: %w (or a clock time such as 14:30)", err))
		}
		d = u.Std()
	}
	if d >= 24*time.Hour {
		return 0, badInput(fmt.Errorf("preflight: --start %s is not a time of day: use 0 to 23:59 (UTC)", v))
	}
	return d, nil
}

// ---- JSON -------------------------------------------------------------------

type simOutput struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Twin       string               `json:"twin"`
	Change     *check.ChangeSummary `json:"change"`
	Options    simOptionsOut        `json:"options"`
	Result     *sim.Result          `json:"result"`
	Baseline   *sim.Result          `json:"baseline"`
	Sweep      *simSweepOut         `json:"sweep,omitempty"`
	Findings   []finding.Finding    `json:"findings"`
	Verdict    verdict.Verdict      `json:"verdict"`
}

type simOptionsOut struct {
	Start         units.Duration `json:"start"`
	Duration      units.Duration `json:"duration"`
	Tick          units.Duration `json:"tick"`
	Step          units.Duration `json:"step"`
	Seed          int64          `json:"seed"`
	ChangeAt      units.Duration `json:"changeAt,omitempty"`
	Scenario      string         `json:"scenario,omitempty"`
	ScenarioTitle string         `json:"scenarioTitle,omitempty"`
}

// simSweepOut is the sweep of the JSON output.
type simSweepOut struct {
	Kind  string          `json:"kind"`
	At    units.Duration  `json:"at"`
	Cases []sim.SweepCase `json:"cases"`
}

func (r *simRun) json() simOutput {
	out := simOutput{
		APIVersion: check.APIVersion, Kind: "Simulation", Twin: r.twin,
		Options: simOptionsOut{
			Start: r.after.Start, Duration: r.after.Duration, Tick: r.after.Tick, Step: r.after.Step, Seed: r.after.Seed,
			Scenario: r.scFile,
		},
		Result: r.after, Baseline: r.baseline, Findings: r.findings, Verdict: r.verdict,
	}
	if r.scenario != nil {
		out.Options.ScenarioTitle = r.scenario.Title
	}
	if r.sweep != "" {
		out.Sweep = &simSweepOut{Kind: r.sweep, At: units.Duration(r.sweepAt), Cases: r.cases}
	}
	if cs := r.cs; cs != nil {
		out.Change = &check.ChangeSummary{Title: cs.Title, Author: cs.Author, Ticket: cs.Ticket, Reason: cs.Reason, Source: cs.Source}
		out.Options.ChangeAt = units.Duration(r.changeAt)
	}
	return out
}

// ---- text -------------------------------------------------------------------

func (r *simRun) title() string {
	switch {
	case r.cs != nil && r.cs.Title != "":
		return r.cs.Title
	case r.cs != nil:
		return "(untitled change)"
	case r.scenario != nil && r.scenario.Title != "":
		return r.scenario.Title
	case r.scenario != nil:
		return "scenario " + r.scFile
	}
	return "the twin as it is (no change)"
}

func (r *simRun) text(w io.Writer, st report.Style) error {
	var b bytes.Buffer
	res := r.after
	fmt.Fprintf(&b, "preflight simulation: %s\n", r.title())
	meta := []string{"twin " + r.twin}
	if r.cs != nil {
		meta = append(meta, fmt.Sprintf("change (%s) at %v", r.cs.Source, units.Duration(r.changeAt)))
	}
	if r.scenario != nil {
		sc := "scenario " + r.scFile
		if r.scenario.Title != "" {
			sc += " (" + r.scenario.Title + ")"
		}
		meta = append(meta, sc)
	}
	fmt.Fprintf(&b, "  %s\n", strings.Join(meta, " · "))
	fmt.Fprintf(&b, "  window %s UTC for %v · tick %v · series step %v · seed %d\n", clock(res.Start.Std()), res.Duration, res.Tick, res.Step, res.Seed)
	if r.baseline == nil {
		fmt.Fprintf(&b, "  no baseline: without a change every violation counts as the run's own\n")
	}
	if err := report.Verdict(&b, r.verdict, st); err != nil {
		return err
	}

	// Entry points.
	base := map[string]*sim.EntrySeries{}
	if r.baseline != nil {
		for i := range r.baseline.Entries {
			base[r.baseline.Entries[i].Name] = &r.baseline.Entries[i]
		}
	}
	header := []string{"entry point", "availability", "target", "worst " + windowName(res.Step.Std()), "p99 max", "p99 target"}
	if r.baseline != nil {
		header = append(header, "without change")
	}
	rows := [][]string{header}
	for i := range res.Entries {
		en := &res.Entries[i]
		worst, at := worstWindow(en, res.Step.Std())
		row := []string{en.Name, percent(availability(en)), "no SLO", fmt.Sprintf("%s at %v", percent(worst), units.Duration(at)), seconds(maxOf(en.P99)), "-"}
		if en.Availability > 0 {
			row[2] = percent(en.Availability)
		}
		if en.LatencyP99 > 0 {
			row[5] = en.LatencyP99.String()
		}
		if r.baseline != nil {
			row = append(row, "-")
			if be := base[en.Name]; be != nil {
				row[len(row)-1] = percent(availability(be))
			}
		}
		rows = append(rows, row)
	}
	fmt.Fprintf(&b, "\nEntry points (%d)\n", len(res.Entries))
	writeTable(&b, rows, 1)

	// The most utilised components.
	top := sim.TopUtilised(res.Components, topComponents)
	if len(top) > 0 {
		fmt.Fprintf(&b, "\nMost utilised components\n")
		rows = [][]string{{"kind", "name", "peak", "at"}}
		for _, c := range top {
			rows = append(rows, []string{c.Kind, c.Name, percent(c.Peak), units.Duration(time.Duration(argmax(c.Utilisation)) * res.Step.Std()).String()})
		}
		writeTable(&b, rows, 2)
	}

	if err := report.Findings(&b, r.findings, st); err != nil {
		return err
	}
	if r.sweep != "" {
		r.sweepTable(&b)
	}

	// The log.
	total := len(res.Log) + res.LogTruncated
	fmt.Fprintf(&b, "\nLog (%s)\n", count(total, "entry", "entries"))
	rows = nil
	for i, l := range res.Log {
		if i == maxLogLines {
			break
		}
		rows = append(rows, []string{l.At.String(), l.What, l.Subject, l.Detail})
	}
	if len(rows) > 0 {
		writeTable(&b, rows, 0)
	} else {
		fmt.Fprintf(&b, "  nothing happened\n")
	}
	if more := total - len(rows); more > 0 {
		fmt.Fprintf(&b, "  … %d more (see --format json)\n", more)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// sweepTable lists the sweep's cases, worst first.
func (r *simRun) sweepTable(b *bytes.Buffer) {
	fmt.Fprintf(b, "\nSweep: each %s failed at %v (%s, worst first)\n", r.sweep, units.Duration(r.sweepAt), count(len(r.cases), "case", "cases"))
	if len(r.cases) == 0 {
		fmt.Fprintf(b, "  no %s is up\n", r.sweep)
		return
	}
	header := []string{r.sweep, "worst availability", "entry point", "failed requests"}
	if r.baseline != nil {
		header = append(header, "without change")
	}
	rows := [][]string{append(header, "findings")}
	for i := range r.cases {
		c := &r.cases[i]
		worst, ok := c.Worst()
		row := []string{c.Failed, "-", "-", strconv.FormatFloat(math.Round(c.Lost()), 'f', 0, 64)}
		if ok {
			row[1] = percent(worst.Availability)
		}
		if ok && worst.Availability < 1 {
			row[2] = worst.Name
		}
		if r.baseline != nil {
			row = append(row, "-")
			for _, e := range c.Baseline {
				if e.Name == worst.Name {
					row[len(row)-1] = percent(e.Availability)
				}
			}
		}
		rows = append(rows, append(row, severities(c.Findings)))
	}
	writeTable(b, rows, 0)
}

// severities counts findings by severity, most severe first: "2 critical,
// 5 warning", or "none".
func severities(fs []finding.Finding) string {
	v := verdict.Decide(fs)
	var parts []string
	for _, sev := range []finding.Severity{finding.Critical, finding.Unknown, finding.Warning, finding.Info} {
		if n := v.Counts[string(sev)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// writeTable writes rows in aligned columns, two spaces in; columns from
// numericFrom on are right-aligned (none when it is 0); a last column
// aligned left is not padded.
func writeTable(b *bytes.Buffer, rows [][]string, numericFrom int) {
	var width []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		line.WriteString(" ")
		for i, c := range row {
			line.WriteString(" ")
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			right := numericFrom > 0 && i >= numericFrom
			switch {
			case i == len(row)-1 && !right:
				line.WriteString(c)
			case right:
				line.WriteString(pad + c)
			default:
				line.WriteString(c + pad)
			}
			if i < len(row)-1 {
				line.WriteString(" ")
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func availability(e *sim.EntrySeries) float64 {
	if e.TotalAttempts <= 0 {
		return 1
	}
	return e.TotalSucceeded / e.TotalAttempts
}

// windowName names the window worstWindow judges: a minute, or one step
// when a step is longer.
func windowName(step time.Duration) string {
	if step > time.Minute {
		return units.Duration(step).String()
	}
	return "minute"
}

// worstWindow is the lowest mean success over a sliding minute of steps
// (one step when steps are longer), and when it starts.
func worstWindow(e *sim.EntrySeries, step time.Duration) (float64, time.Duration) {
	v := e.Success
	n := max(1, int(time.Minute/step))
	if len(v) == 0 {
		return 1, 0
	}
	if len(v) < n {
		return mean(v), 0
	}
	worst, at, sum := math.Inf(1), 0, 0.0
	for k, x := range v {
		sum += x
		if k >= n {
			sum -= v[k-n]
		}
		if k >= n-1 && sum/float64(n) < worst-1e-12 {
			worst, at = sum/float64(n), k-n+1
		}
	}
	return worst, time.Duration(at) * step
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// percent prints a share with up to three decimals, rounded down (a run
// that misses 99.999% never shows it), but not below the float noise of
// the simulation's sums.
func percent(f float64) string {
	v := math.Floor(math.Max(0, f)*1e5+1e-6) / 1e3
	return strconv.FormatFloat(v, 'f', -1, 64) + "%"
}

func seconds(s float64) string {
	return units.Duration(time.Duration(s * float64(time.Second)).Round(time.Millisecond)).String()
}

func clock(d time.Duration) string {
	d %= 24 * time.Hour
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

// ---- SVG --------------------------------------------------------------------

func (r *simRun) chart() svgplot.Chart {
	return sim.Chart(r.after, shorten(r.title(), 60)+" · "+r.twin+" from "+clock(r.after.Start.Std())+" UTC")
}

// shorten cuts s to at most n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// writeChart renders the chart and writes it to path through a temporary
// file in the same directory, so a failure never leaves a partial file.
func writeChart(path string, r *simRun) error {
	var buf bytes.Buffer
	if err := svgplot.Write(&buf, r.chart()); err != nil {
		return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: drawing the chart: %w", err)}
	}
	fail := func(err error) error {
		return badInput(fmt.Errorf("preflight: writing the chart to %s: %w", path, err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fail(err)
	}
	_, err = tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fail(err)
	}
	return nil
}
