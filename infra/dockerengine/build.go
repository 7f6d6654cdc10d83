package dockerengine

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Connect returns an Engine API client for DOCKER_HOST (default: the local socket), with the API
// version negotiated down to the engine's (20.10 speaks 1.41), after checking that it answers.
func Connect(ctx context.Context) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker engine does not answer: %w", err)
	}
	return cli, nil
}

// ContextTar streams dir as a build context, leaving out what dir/.dockerignore excludes, the way
// the docker CLI and the provider send it.
func ContextTar(dir string) (io.ReadCloser, error) {
	var pm *patternmatcher.PatternMatcher
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read .dockerignore: %w", err)
		}
		if pm, err = patternmatcher.New(patterns); err != nil {
			return nil, fmt.Errorf("parse .dockerignore: %w", err)
		}
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil || rel == "." {
				return err
			}
			rel = filepath.ToSlash(rel)
			if pm != nil && rel != ".dockerignore" {
				skip, err := pm.MatchesOrParentMatches(rel)
				if err != nil {
					return err
				}
				if skip {
					// A directory may still hold re-included entries (`*` then `!service/`).
					if d.IsDir() && !pm.Exclusions() {
						return filepath.SkipDir
					}
					return nil
				}
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			link := ""
			if info.Mode()&fs.ModeSymlink != 0 {
				if link, err = os.Readlink(p); err != nil {
					return err
				}
			}
			hdr, err := tar.FileInfoHeader(info, link)
			if err != nil {
				return err
			}
			hdr.Name = rel
			if d.IsDir() {
				hdr.Name += "/"
			}
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		})
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// streamMessage is one line of the engine's JSON progress stream (build, import).
type streamMessage struct {
	ID          string                    `json:"id"`
	Stream      string                    `json:"stream"`
	Status      string                    `json:"status"`
	Error       string                    `json:"error"`
	ErrorDetail *struct{ Message string } `json:"errorDetail"`
	Aux         json.RawMessage           `json:"aux"`
}

// readStream consumes a progress stream, copying its text to log, and returns the image id it
// reports (BuildKit: the moby.image.id aux; classic builder and import: the last aux/status id).
func readStream(body io.Reader, log io.Writer) (string, error) {
	id := ""
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m streamMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue
		}
		if m.Error != "" {
			return "", errors.New(strings.TrimSpace(m.Error))
		}
		if log != nil && m.Stream != "" {
			io.WriteString(log, m.Stream)
		}
		if len(m.Aux) > 0 && m.ID != "moby.buildkit.trace" {
			var aux struct{ ID string }
			if json.Unmarshal(m.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
		if strings.HasPrefix(m.Status, "sha256:") {
			id = strings.TrimSpace(m.Status)
		}
	}
	return id, sc.Err()
}

// Build runs one image build of dir (its Dockerfile at opts.Dockerfile, relative to dir) and
// returns the image id. opts.Version picks the builder: build.BuilderBuildKit is what the
// provider uses, with the context uploaded as a tarball (no client session: no SSH or secret
// mounts, which the ISL Dockerfile does not use).
func Build(ctx context.Context, cli client.APIClient, dir string, opts build.ImageBuildOptions, log io.Writer) (string, error) {
	tr, err := ContextTar(dir)
	if err != nil {
		return "", err
	}
	defer tr.Close()
	opts.Remove, opts.ForceRemove = true, true
	resp, err := cli.ImageBuild(ctx, tr, opts)
	if err != nil {
		return "", fmt.Errorf("docker build %s: %w", dir, err)
	}
	defer resp.Body.Close()
	id, err := readStream(resp.Body, log)
	if err != nil {
		return "", fmt.Errorf("docker build %s: %w", dir, err)
	}
	if id == "" && len(opts.Tags) > 0 {
		ii, err := cli.ImageInspect(ctx, opts.Tags[0])
		if err != nil {
			return "", fmt.Errorf("docker build %s: no image id reported: %w", dir, err)
		}
		id = ii.ID
	}
	return id, nil
}

// Import creates an image from a root filesystem tarball (`docker import`), with Dockerfile-style
// changes (CMD, LABEL, ENV).
func Import(ctx context.Context, cli client.APIClient, rootfs io.Reader, ref string, changes []string) (string, error) {
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: rootfs, SourceName: "-"}, ref, image.ImportOptions{Changes: changes})
	if err != nil {
		return "", fmt.Errorf("docker import %s: %w", ref, err)
	}
	defer rc.Close()
	id, err := readStream(rc, nil)
	if err != nil {
		return "", fmt.Errorf("docker import %s: %w", ref, err)
	}
	return id, nil
}
