// Package fibdump reads published forwarding-table dumps into the
// forwarding model of package fwd, so the verification engine runs on real
// networks. Two formats are supported, those of the public data-plane
// verification benchmarks described in shared/datasets/README.md:
//
//   - Stanford backbone, as distributed with APKeep (LoadStanford): a
//     directory with topo.txt, vlan.txt, updates and, optionally, acls/.
//     The network is the state after every insert of the updates file; the
//     deletes that follow are the replay trace (ReadStanfordUpdates).
//     ACL nodes of topo.txt are collapsed into port ACLs (see LoadStanford).
//   - Internet2, as distributed with Flash (LoadInternet2): a directory with
//     one <router>apnotcomp FIB file per router, topo.txt and
//     topo-fib-inferred.txt.
//
// Load detects the format of a directory. Every parser works on an
// io.Reader and a file name, so it can be used and fuzzed without files;
// the directory loaders are built on top of them.
//
// Errors name the file and line, say what is wrong and what was expected,
// and are *ParseError values (errors.As) when they concern a position in a
// file. Lines may be at most MaxLineBytes long; numbers are range-checked.
//
// Network.Links are sorted by source port, then destination port, with
// duplicates dropped. Every rule records where it came from: Rule.Seq is the line number of the
// rule in its file (so rules of equal priority are ordered as the dump
// lists them, and the later one wins), and Rule.Origin is "fib FILE:LINE"
// with the file's base name.
package fibdump

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/preflight-sh/preflight/fwd"
)

// Format names returned by Load.
const (
	FormatStanford  = "stanford"
	FormatInternet2 = "internet2"
)

// MaxLineBytes is the longest line a parser accepts. The longest line of
// the published datasets is under 200 bytes.
const MaxLineBytes = 64 << 10

// ParseError is a problem at a position in an input file.
type ParseError struct {
	File string // file name as given to the parser
	Line int    // 1-based; 0 when the problem concerns the whole file
	Msg  string // what is wrong and what was expected
	Err  error  // underlying error, if any
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// Load reads the dataset directory at path, detecting its format: a
// Stanford/APKeep directory has the files updates and topo.txt; an
// Internet2/Flash directory has *apnotcomp FIB files (read with port names
// normalised, as Flash does and as the reference figures assume). It
// returns the network and the format name (FormatStanford or
// FormatInternet2).
func Load(path string) (*fwd.Network, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("fibdump: %w", err)
	}
	if !st.IsDir() {
		return nil, "", fmt.Errorf("fibdump: %s is not a directory; expected a Stanford/APKeep dataset directory (topo.txt and updates) or an Internet2/Flash one (<router>apnotcomp files)", path)
	}
	if isFile(filepath.Join(path, "updates")) && isFile(filepath.Join(path, "topo.txt")) {
		n, err := LoadStanford(path)
		return n, FormatStanford, err
	}
	fibs, err := internet2FIBFiles(path)
	if err != nil {
		return nil, "", err
	}
	if len(fibs) > 0 {
		n, err := LoadInternet2(path, true)
		return n, FormatInternet2, err
	}
	return nil, "", fmt.Errorf("fibdump: %s holds no known forwarding-table dump: expected the files updates and topo.txt (Stanford/APKeep) or <router>apnotcomp files (Internet2/Flash)", path)
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// lineReader reads a file line by line, counting lines, and makes errors
// that carry the file name and line.
type lineReader struct {
	sc   *bufio.Scanner
	name string
	line int
	buf  []string // fields of the current line
}

func newLineReader(r io.Reader, name string) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineBytes)
	return &lineReader{sc: sc, name: name}
}

// next returns the next line, without its line ending.
func (lr *lineReader) next() (string, bool) {
	if !lr.sc.Scan() {
		return "", false
	}
	lr.line++
	return strings.TrimSuffix(lr.sc.Text(), "\r"), true
}

// fields splits line at runs of ASCII white space, like strings.Fields,
// into a buffer reused for every line.
func (lr *lineReader) fields(line string) []string {
	lr.buf = lr.buf[:0]
	for i := 0; i < len(line); {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		j := i
		for j < len(line) && !isSpace(line[j]) {
			j++
		}
		if j > i {
			lr.buf = append(lr.buf, line[i:j])
		}
		i = j
	}
	return lr.buf
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// err reports a read error, if reading stopped on one.
// nextFields returns the next non-blank line and its fields; false at the
// end of the input.
func (lr *lineReader) nextFields() (string, []string, bool) {
	for {
		line, ok := lr.next()
		if !ok {
			return "", nil, false
		}
		if f := lr.fields(line); len(f) > 0 {
			return line, f, true
		}
	}
}

func (lr *lineReader) err() error {
	err := lr.sc.Err()
	if err == nil {
		return nil
	}
	if errors.Is(err, bufio.ErrTooLong) {
		return &ParseError{File: lr.name, Line: lr.line + 1, Msg: fmt.Sprintf("line longer than %d bytes; expected one short rule per line", MaxLineBytes), Err: err}
	}
	return &ParseError{File: lr.name, Line: lr.line + 1, Msg: "read error: " + err.Error(), Err: err}
}

func (lr *lineReader) errorf(format string, args ...any) error {
	return &ParseError{File: lr.name, Line: lr.line, Msg: fmt.Sprintf(format, args...)}
}

// origin is the Rule.Origin of a rule read from line of file name.
func origin(name string, line int) string {
	return "fib " + filepath.Base(name) + ":" + strconv.Itoa(line)
}

// parsePrefix parses an IPv4 address given as an unsigned 32-bit integer
// and a prefix length. Host bits beyond the length are cleared (they take
// no part in matching). On failure it returns a message saying what is
// wrong.
func parsePrefix(ipText, lenText string) (netip.Prefix, string) {
	ip, err := strconv.ParseUint(ipText, 10, 32)
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("address %q is not an IPv4 address written as an unsigned 32-bit integer (0 to 4294967295)", ipText)
	}
	bits, err := strconv.Atoi(lenText)
	if err != nil || bits < 0 || bits > 32 {
		return netip.Prefix{}, fmt.Sprintf("prefix length %q is not a number from 0 to 32", lenText)
	}
	a := netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)})
	return netip.PrefixFrom(a, bits).Masked(), ""
}
