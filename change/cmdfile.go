package change

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/yamldecode"
)

// Load reads a change from a file: a command file when its name ends in
// .cmd, else a change file.
func Load(path string) (*ChangeSet, error) {
	if !strings.HasSuffix(path, ".cmd") {
		return LoadFile(path)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading command file: %w", err)
	}
	return ParseCommandFile(path, src)
}

// ParseCommandFile reads a command file: operator commands, one per line,
// with blank lines and # comments between them, as an operator would type
// them. The change's title is its first command.
func ParseCommandFile(file string, src []byte) (*ChangeSet, error) {
	if len(src) > MaxFileSize {
		return nil, yamldecode.ErrorList{{Pos: twin.Pos{File: file}, Msg: "command file is too large"}}
	}
	cs := &ChangeSet{Source: file}
	var errs yamldecode.ErrorList
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64*1024), MaxFileSize)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		ops, err := CompileAt(text, twin.Pos{File: file, Line: line, Col: 1})
		if err != nil {
			errs = append(errs, asErrors(twin.Pos{File: file, Line: line, Col: 1}, err)...)
			continue
		}
		if cs.Title == "" {
			cs.Title = text
		}
		cs.Operations = append(cs.Operations, ops...)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, yamldecode.Error{Pos: twin.Pos{File: file}, Msg: err.Error()})
	}
	if len(errs) == 0 && len(cs.Operations) == 0 {
		errs = append(errs, yamldecode.Error{Pos: twin.Pos{File: file, Line: 1, Col: 1}, Msg: "the command file holds no command: write one per line, e.g. drain zone use1-az2"})
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return cs, nil
}
