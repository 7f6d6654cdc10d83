package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// buildInputs are the parts of the repository the service image is built from (the Dockerfile's
// build context needs only these); the image tag is a hash of their content, so an unchanged tree
// keeps its tag and its containers, and any change to the service or engine gives a new tag.
var buildInputs = []string{"go.work", "go.work.sum", "engine", "service"}

// ContentTag hashes the build inputs under root into an image tag "c-<12 hex>".
func ContentTag(root, dockerfile string) (string, error) {
	h := sha256.New()
	var files []string
	for _, in := range append(append([]string{}, buildInputs...), dockerfile) {
		p := filepath.Join(root, in)
		st, err := os.Stat(p)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return "", fmt.Errorf("hash build inputs: %w", err)
		}
		if !st.IsDir() {
			files = append(files, in)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() && (strings.HasPrefix(name, ".") || name == "bin" || name == "fuzz") {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(root, path)
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hash build inputs: %w", err)
		}
	}
	sort.Strings(files)
	files = dedup(files)
	for _, rel := range files {
		f, err := os.Open(filepath.Join(root, rel))
		if err != nil {
			return "", fmt.Errorf("hash build inputs: %w", err)
		}
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("hash build inputs: %w", err)
		}
		h.Write([]byte{0})
	}
	return "c-" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
