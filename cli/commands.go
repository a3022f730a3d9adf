package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/policy"
	"github.com/preflight-sh/preflight/report"
	"github.com/preflight-sh/preflight/twin"
)

func loadTwin(path string) (*twin.Snapshot, error) {
	s, err := twin.Load(path)
	if err != nil {
		if l, ok := err.(twin.ErrorList); ok {
			return nil, badInput(fmt.Errorf("%s\npreflight: the twin %s has %d problem(s); fix them and run again", l, path, len(l)))
		}
		return nil, badInput(fmt.Errorf("preflight: %w", err))
	}
	return s, nil
}

func validateCmd(e *env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate TWIN",
		Short: "Load a twin strictly and report every problem at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			s, err := loadTwin(args[0])
			if err != nil {
				return err
			}
			counts := map[string]int{}
			for _, k := range twin.Kinds {
				if n := len(s.List(k.Name)); n > 0 {
					counts[k.Name] = n
				}
			}
			return e.emit(func(w io.Writer) error {
				if format == "json" {
					return report.JSON(w, map[string]any{"apiVersion": check.APIVersion, "kind": "Validation", "twin": args[0], "valid": true, "objects": counts})
				}
				var parts []string
				for _, k := range twin.Kinds {
					if counts[k.Name] > 0 {
						parts = append(parts, fmt.Sprintf("%d %s", counts[k.Name], k.Name))
					}
				}
				_, err := fmt.Fprintf(w, "%s: valid, %d objects (%s)\n", args[0], s.Len(), strings.Join(parts, ", "))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// changeFlags are the ways to give a change, and the output format.
type changeFlags struct {
	file    string
	command string
	format  string
	// formats are the output formats allowed; text and json when nil.
	formats []string
}

// reportFormats are the output formats of plan and check.
var reportFormats = []string{"text", "json", "markdown", "sarif", "junit"}

func (c *changeFlags) allowed() []string {
	if c.formats == nil {
		return []string{"text", "json"}
	}
	return c.formats
}

func (c *changeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.file, "change", "", "change file (YAML)")
	cmd.Flags().StringVar(&c.command, "command", "", `operator command, e.g. "drain zone use1-az2"`)
	cmd.Flags().StringVar(&c.format, "format", "text", "output format: "+strings.Join(c.allowed(), ", "))
}

func (c *changeFlags) load() (*change.ChangeSet, error) {
	if err := checkFormat(c.format, c.allowed()...); err != nil {
		return nil, err
	}
	switch {
	case c.file != "" && c.command != "":
		return nil, badInput(fmt.Errorf("preflight: give --change FILE or --command \"...\", not both"))
	case c.file != "":
		cs, err := change.Load(c.file)
		if err != nil {
			return nil, badInput(fmt.Errorf("%w\npreflight: the change file %s cannot be used; fix it and run again", err, c.file))
		}
		return cs, nil
	case c.command != "":
		ops, err := change.Compile(c.command)
		if err != nil {
			return nil, badInput(fmt.Errorf("%w\npreflight: see docs/commands.md for the command language", err))
		}
		return &change.ChangeSet{Title: c.command, Source: "command", Operations: ops}, nil
	}
	return nil, badInput(fmt.Errorf("preflight: give the change: --change FILE or --command \"...\""))
}

func runPipeline(e *env, c *changeFlags, twinPath string, run func(string, *twin.Snapshot, *change.ChangeSet) (*check.Report, error)) (*check.Report, error) {
	cs, err := c.load()
	if err != nil {
		return nil, err
	}
	s, err := loadTwin(twinPath)
	if err != nil {
		return nil, err
	}
	r, err := run(twinPath, s, cs)
	if err != nil {
		return nil, badInput(fmt.Errorf("%w\npreflight: the change cannot be applied to the twin %s", err, twinPath))
	}
	err = e.emit(func(w io.Writer) error {
		switch c.format {
		case "json":
			return report.JSON(w, r)
		case "markdown":
			return report.Markdown(w, r)
		case "sarif":
			return report.SARIF(w, r)
		case "junit":
			return report.JUnit(w, r)
		}
		return report.Text(w, r, report.Style{Color: e.color})
	})
	return r, err
}

func planCmd(e *env) *cobra.Command {
	c := changeFlags{formats: reportFormats}
	cmd := &cobra.Command{
		Use:   "plan TWIN (--change FILE | --command \"...\")",
		Short: "Show exactly what a change touches: blast radius, expanded selectors and a readable diff",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := runPipeline(e, &c, args[0], check.Plan)
			return err
		},
	}
	c.add(cmd)
	return cmd
}

func checkCmd(e *env) *cobra.Command {
	c := changeFlags{formats: reportFormats}
	var overrides []string
	cmd := &cobra.Command{
		Use:   "check TWIN (--change FILE | --command \"...\")",
		Short: "Apply a change to the twin, run the analyses before and after, and decide",
		Long: `Apply a change to the twin, run the analyses before and after, and decide.

Exit codes: 0 safe (pass or warn), 1 blocked or undecided, 2 bad input or
usage, 3 internal error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var o check.Options
			for _, text := range overrides {
				ov, err := parseOverride(text)
				if err != nil {
					return badInput(err)
				}
				o.Overrides = append(o.Overrides, ov)
			}
			r, err := runPipeline(e, &c, args[0], func(name string, s *twin.Snapshot, cs *change.ChangeSet) (*check.Report, error) {
				return check.Run(name, s, cs, o)
			})
			if err != nil {
				return err
			}
			if !r.Verdict.Safe() {
				return &exitError{code: ExitBlocked}
			}
			return nil
		},
	}
	c.add(cmd)
	cmd.Flags().StringArrayVar(&overrides, "override", nil, `let the change through a soft-mandatory policy: "POLICY=APPROVER:REASON" (repeatable)`)
	return cmd
}

// parseOverride reads "POLICY=APPROVER:REASON".
func parseOverride(text string) (policy.Override, error) {
	name, rest, ok1 := strings.Cut(text, "=")
	approver, reason, ok2 := strings.Cut(rest, ":")
	name, approver, reason = strings.TrimSpace(name), strings.TrimSpace(approver), strings.TrimSpace(reason)
	if !ok1 || !ok2 || name == "" || approver == "" || reason == "" {
		return policy.Override{}, fmt.Errorf("preflight: --override %q: write POLICY=APPROVER:REASON, e.g. --override capacity-floors=alice:replacing failed hardware", text)
	}
	return policy.Override{Policy: name, Approver: approver, Reason: reason}, nil
}

func diffCmd(e *env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "diff TWIN_A TWIN_B",
		Short: "Print the change set that turns twin A into twin B",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "yaml", "json"); err != nil {
				return err
			}
			a, err := loadTwin(args[0])
			if err != nil {
				return err
			}
			b, err := loadTwin(args[1])
			if err != nil {
				return err
			}
			cs, err := change.Diff(a, b)
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			cs.Title = fmt.Sprintf("Changes from %s to %s", args[0], args[1])
			return e.emit(func(w io.Writer) error {
				if format == "json" {
					return report.JSON(w, cs)
				}
				return change.WriteYAML(w, cs)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "yaml", "output format: yaml (a change file) or json")
	return cmd
}
