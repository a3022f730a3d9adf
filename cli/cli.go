// Package cli is the preflight command line: a thin shell that parses
// flags, calls the engine packages and renders their results.
package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes.
const (
	ExitSafe     = 0 // the change is safe (pass or warn), or the command succeeded
	ExitBlocked  = 1 // the verdict blocks the change or could not decide
	ExitBadInput = 2 // bad input or usage
	ExitInternal = 3 // a bug in preflight
)

// exitError carries an exit code with an optional message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func badInput(err error) error { return &exitError{code: ExitBadInput, err: err} }

// env is what a command needs from its surroundings.
type env struct {
	stdout io.Writer
	stderr io.Writer
	color  bool
}

// Main runs preflight with args (without the program name) and returns the
// exit code. Output is written only when a command has fully succeeded, so
// a failure never leaves partial output.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "preflight: internal error: %v\n%s\nplease report this with the command you ran\n", r, debug.Stack())
			code = ExitInternal
		}
	}()
	e := &env{stdout: stdout, stderr: stderr, color: colorFor(stdout)}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return ExitSafe
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "%s\n", ee.err)
		}
		return ee.code
	}
	// Errors from cobra itself: unknown command or flag.
	fmt.Fprintf(stderr, "preflight: %v\nrun 'preflight --help' for usage\n", err)
	return ExitBadInput
}

func colorFor(w io.Writer) bool {
	if _, off := os.LookupEnv("NO_COLOR"); off {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "preflight",
		Short:         "Test infrastructure changes on a digital twin of production before they go live",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var noColor bool
	root.PersistentFlags().BoolVar(&noColor, "no-color", false, "never colour the output (NO_COLOR is honoured too)")
	root.PersistentPreRun = func(*cobra.Command, []string) {
		if noColor {
			e.color = false
		}
	}
	root.AddCommand(validateCmd(e), planCmd(e), checkCmd(e), diffCmd(e), genCmd(e), dataplaneCmd(e), traceCmd(e), reachCmd(e), failuresCmd(e), simulateCmd(e))
	root.AddCommand(serviceCmds(e)...)
	return root
}

// emit writes a fully rendered output.
func (e *env) emit(render func(w io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: rendering output: %w", err)}
	}
	_, err := e.stdout.Write(buf.Bytes())
	return err
}

func checkFormat(f string, allowed ...string) error {
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	return badInput(fmt.Errorf("preflight: unknown --format %q: use one of %v", f, allowed))
}
