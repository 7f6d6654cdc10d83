// Command images-offline builds every image the stacks name on a Docker engine with no registry
// (see package offlineimages): `make images-offline`. Images already built from the same inputs are
// kept, so a second run takes seconds.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/olumi/isl/infra/dockerengine"
	"github.com/olumi/isl/infra/offlineimages"
	"github.com/olumi/isl/stacks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "images-offline:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("images-offline", flag.ContinueOnError)
	cache := fs.String("cache", "", "directory for the debootstrap rootfs and build contexts (default: the user cache dir)")
	mirror := fs.String("mirror", "", "Debian mirror for debootstrap (default deb.debian.org)")
	only := fs.String("only", "", "comma-separated tags to build (default: all)")
	noService := fs.Bool("no-service", false, "skip the ISL service image")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := stacks.FindRoot(".")
	if err != nil {
		return err
	}
	cli, err := dockerengine.Connect(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	o := offlineimages.Options{Root: root, CacheDir: *cache, Mirror: *mirror, Log: os.Stdout, NoService: *noService}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	start := time.Now()
	if err := offlineimages.Ensure(ctx, cli, o); err != nil {
		return err
	}
	fmt.Printf("images-offline: done in %s\n", time.Since(start).Round(time.Second))
	return nil
}
