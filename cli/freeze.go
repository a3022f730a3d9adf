package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/preflight-sh/preflight/approval"
	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/units"
)

// freezeCmd manages the review service's freeze windows: recurring times
// when changes are not applied unless a member of an override group says
// so, with a reason.
func freezeCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "freeze", Short: "Manage the review service's change freeze windows"}
	var data, schedule, duration string
	var groups []string
	set := &cobra.Command{
		Use:   "set NAME --data DIR|postgres://URL --schedule \"0 22 * * FRI\" --duration 60h [--override-groups sre-leads]",
		Short: "Create or replace a freeze window: it opens on the cron schedule (UTC) and lasts --duration",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := units.ParseDuration(duration)
			if err != nil {
				return badInput(fmt.Errorf("preflight: --duration: %w", err))
			}
			f := approval.Freeze{Name: args[0], Schedule: schedule, Duration: d.Std(), OverrideGroups: groups}
			if err := f.Validate(); err != nil {
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			st, err := openStore(cmd.Context(), data)
			if err != nil {
				return err
			}
			defer st.Close()
			w := store.FreezeWindow{Name: f.Name, Schedule: f.Schedule, Duration: f.Duration, OverrideGroups: f.OverrideGroups}
			if err := st.PutFreezeWindow(cmd.Context(), w, "cli:freeze-set"); err != nil {
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			return e.emit(func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "freeze %s: opens %q (UTC) for %s; override groups: %s\n", f.Name, f.Schedule, units.Duration(f.Duration), orNoneList(f.OverrideGroups))
				return err
			})
		},
	}
	set.Flags().StringVar(&schedule, "schedule", "", `when the window opens: five-field cron in UTC, e.g. "0 22 * * FRI"`)
	set.Flags().StringVar(&duration, "duration", "", "how long it stays open, e.g. 60h")
	set.Flags().StringSliceVar(&groups, "override-groups", nil, "groups whose members may override it, with a reason (comma-separated)")

	list := &cobra.Command{
		Use:   "list --data DIR|postgres://URL",
		Short: "List the freeze windows and whether one is in force now",
		Args:  cobra.NoArgs,
		RunE: withStore(&data, func(cmd *cobra.Command, args []string, st *store.Store) error {
			ws, err := st.FreezeWindows(cmd.Context())
			if err != nil {
				return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: %w", err)}
			}
			now := time.Now().UTC()
			return e.emit(func(w io.Writer) error {
				if len(ws) == 0 {
					_, err := fmt.Fprintln(w, "no freeze windows")
					return err
				}
				for _, fw := range ws {
					f := approval.Freeze{Name: fw.Name, Schedule: fw.Schedule, Duration: fw.Duration, OverrideGroups: fw.OverrideGroups}
					state := "not in force"
					if a, ok, err := f.ActiveAt(now); err == nil && ok {
						state = fmt.Sprintf("IN FORCE since %s until %s", a.Start.Format(time.RFC3339), a.Until.Format(time.RFC3339))
					}
					if _, err := fmt.Fprintf(w, "%-20s %-16q %-8s override: %-20s %s\n", fw.Name, fw.Schedule, units.Duration(fw.Duration), orNoneList(fw.OverrideGroups), state); err != nil {
						return err
					}
				}
				return nil
			})
		}),
	}
	del := &cobra.Command{
		Use:   "delete NAME --data DIR|postgres://URL",
		Short: "Delete a freeze window",
		Args:  cobra.ExactArgs(1),
		RunE: withStore(&data, func(cmd *cobra.Command, args []string, st *store.Store) error {
			if err := st.DeleteFreezeWindow(cmd.Context(), args[0], "cli:freeze-delete"); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return badInput(fmt.Errorf("preflight: no freeze window %q", args[0]))
				}
				return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: %w", err)}
			}
			return nil
		}),
	}
	for _, c := range []*cobra.Command{set, list, del} {
		c.Flags().StringVar(&data, "data", "", "data directory (embedded SQLite) or postgres:// URL")
		cmd.AddCommand(c)
	}
	return cmd
}

// withStore runs fn with the store named by *data open, and closes it.
func withStore(data *string, fn func(cmd *cobra.Command, args []string, st *store.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		st, err := openStore(cmd.Context(), *data)
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(cmd, args, st)
	}
}

// orNoneList joins a list, or says none.
func orNoneList(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ",")
}
