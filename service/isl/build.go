package isl

import (
	"runtime"
	"runtime/debug"
)

// Build information, set at link time by `make build` and the Dockerfile:
//
//	go build -ldflags "-X github.com/olumi/isl/service/isl.Version=1.2.0 \
//	  -X github.com/olumi/isl/service/isl.Commit=<sha> -X github.com/olumi/isl/service/isl.BuildDate=<RFC 3339>"
//
// Version is the release (the tag vX.Y.Z without its v, or `git describe` between tags). A binary
// built without the flags says 0.0.0-dev, never a release number it was not given.
var (
	Version   = "0.0.0-dev"
	Commit    = ""
	BuildDate = ""
)

// An empty -X value (an unset build argument) still leaves a version to report.
func init() {
	if Version == "" {
		Version = "0.0.0-dev"
	}
}

// BuildInfo describes the running binary (`isl version`, /health, isl_build_info).
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"build_date"`
	GoVersion string `json:"go_version"`
}

// Build returns the build information. Where the link-time values are missing (go run, go test),
// the commit and date fall back to what the Go toolchain stamped from version control, if anything.
func Build() BuildInfo {
	b := BuildInfo{Version: Version, Commit: Commit, BuildDate: BuildDate, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.BuildDate == "":
				b.BuildDate = s.Value
			}
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.BuildDate == "" {
		b.BuildDate = "unknown"
	}
	return b
}
