package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every document the sources cite (FOO.md) exists in the repository: the nginx template and
// infra/main.go once pointed operators at a DEPLOY_README.md that was never written.
func TestCitedDocumentsExist(t *testing.T) {
	root := testRoot(t)
	cite := regexp.MustCompile(`\b[A-Z][A-Z_]+\.md\b`)
	have := map[string]bool{}
	cited := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasSuffix(p, ".md") {
			have[d.Name()] = true
		}
		if strings.HasSuffix(p, filepath.Join("deploy", "docs_test.go")) {
			return nil // this file names examples
		}
		switch filepath.Ext(p) {
		case ".go", ".tmpl", ".sh", ".yaml", ".yml", ".md", "":
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range cite.FindAllString(string(b), -1) {
			rel, _ := filepath.Rel(root, p)
			cited[m] = rel
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(have) == 0 {
		t.Fatal("no documents found: wrong root?")
	}
	for doc, where := range cited {
		if !have[doc] {
			t.Errorf("%s cites %s, which does not exist", where, doc)
		}
	}
}
