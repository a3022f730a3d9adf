package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
)

// The JUnit XML elements written.
type junitSuite struct {
	XMLName    xml.Name        `xml:"testsuite"`
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut *junitOut     `xml:"system-out"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

type junitOut struct {
	Text string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnit writes a check or plan report as a JUnit XML test suite for CI test
// views: a test case per analysis (skipped if it did not run) and per
// finding (failed if critical or unknown, with its evidence).
func JUnit(w io.Writer, r *check.Report) error {
	s := junitSuite{Name: "preflight " + strings.ToLower(r.Kind)}
	props := [][2]string{{"apiVersion", r.APIVersion}, {"twin", r.Twin}, {"change", r.Change.Title}, {"source", r.Change.Source}}
	if r.Verdict != nil {
		props = append(props, [2]string{"verdict", string(r.Verdict.Decision)}, [2]string{"reasons", strings.Join(r.Verdict.Reasons, "; ")})
	}
	for _, p := range props {
		if p[1] != "" {
			s.Properties = append(s.Properties, junitProperty{Name: p[0], Value: p[1]})
		}
	}
	for _, a := range r.Analyses {
		c := junitCase{ClassName: "analysis", Name: a.Name}
		if a.Ran {
			out := fmt.Sprintf("ran, %d finding(s)", a.Findings)
			if a.Why != "" {
				out += "; " + a.Why
			}
			c.SystemOut = &junitOut{xmlText(out)}
		} else {
			c.Skipped = &junitSkipped{Message: a.Why}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	for _, f := range r.Findings {
		category := f.Category
		if category == "" {
			category, _, _ = strings.Cut(ruleID(f.ID), ".")
		}
		var b strings.Builder
		writeFinding(&b, f, Style{})
		text := xmlText(strings.TrimPrefix(strings.ReplaceAll(b.String(), "\n  ", "\n"), "  "))
		c := junitCase{ClassName: category, Name: f.ID}
		if f.Severity == finding.Critical || f.Severity == finding.Unknown {
			c.Failure = &junitFailure{Message: f.Message, Type: string(f.Severity), Text: text}
			s.Failures++
		} else {
			c.SystemOut = &junitOut{text}
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// xmlText replaces the characters XML 1.0 does not allow (which CDATA
// cannot hold either) with U+FFFD.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}
