// Command dashboards writes the Grafana dashboards built by github.com/olumi/isl/monitoring/dashboards
// as JSON files (`make dashboards` runs it; commit the result).
//
//	go run ./monitoring/cmd/dashboards [--out monitoring/grafana/dashboards]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/olumi/isl/monitoring/dashboards"
)

func main() {
	out := flag.String("out", "monitoring/grafana/dashboards", "directory to write the dashboards into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := dashboards.Files()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		fmt.Println("wrote", p)
	}
	return nil
}
