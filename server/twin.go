package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/preflight-sh/preflight/twin"
)

// Twin is the twin a server verifies changes on.
type Twin struct {
	// Dir is the twin directory, as given.
	Dir string
	// Version is the hex SHA-256 over the twin's files (see TwinVersion).
	Version  string
	Snapshot *twin.Snapshot
}

// LoadTwin loads the twin in dir and computes its version.
func LoadTwin(dir string) (*Twin, error) {
	v, err := TwinVersion(dir)
	if err != nil {
		return nil, err
	}
	s, err := twin.Load(dir)
	if err != nil {
		return nil, err
	}
	return &Twin{Dir: dir, Version: v, Snapshot: s}, nil
}

// TwinVersion is the hex SHA-256 over every regular file under dir, in
// order of their slash-separated paths relative to dir: for each, the
// path's length, the path, the content's length and the content.
func TwinVersion(dir string) (string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("twin version: %w", err)
	}
	slices.Sort(paths)
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return "", fmt.Errorf("twin version: %w", err)
		}
		fmt.Fprintf(h, "%s:%s\n%s:", strconv.Itoa(len(p)), p, strconv.Itoa(len(b)))
		h.Write(b)
		h.Write([]byte("\n"))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
