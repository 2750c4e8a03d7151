package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/ticketsync/ticketsync/app"
	"github.com/ticketsync/ticketsync/devstack"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o devstack.Options
	fs.StringVar(&o.DataDir, "data-dir", ".ticketsync", "where Temporal's and ticketsync's SQLite files live")
	fs.BoolVar(&o.Ephemeral, "ephemeral", false, "keep everything in memory (nothing survives a restart)")
	fs.StringVar(&o.ConnectionsFile, "connections", "", "connections file replacing the demo configuration (only the simulators it references run)")
	fs.DurationVar(&o.PollInterval, "poll-interval", 15*time.Minute, "per-ticket safety-net poll interval")
	fs.StringVar(&o.HTTPAddr, "http-addr", "127.0.0.1:8080", "API listen address")
	fs.IntVar(&o.TemporalPort, "temporal-port", 7233, "Temporal frontend gRPC port")
	fs.IntVar(&o.UIPort, "ui-port", 8233, "Temporal Web port")
	fs.BoolVar(&o.NoUI, "no-ui", false, "do not serve Temporal Web")
	fs.DurationVar(&o.Retention, "retention", 30*24*time.Hour, "how long finished ticket workflows stay inspectable in Temporal Web")
	simPorts := []struct {
		p         *int
		name      string
		def       int
		simulated string
	}{
		{&o.TWHSimPort, "twh-sim-port", 8301, "TheWorxHub simulator"},
		{&o.PortalSimPort, "portal-sim-port", 8302, "fake portal (event receiver)"},
		{&o.CityworksSimPort, "cityworks-sim-port", 8303, "Cityworks simulator"},
		{&o.ArcGISSimPort, "arcgis-sim-port", 8304, "ArcGIS geocoder simulator"},
		{&o.SCFSimPort, "scf-sim-port", 8305, "SeeClickFix simulator"},
		{&o.CyprexxSimPort, "cyprexx-sim-port", 8306, "Cyprexx simulator"},
		{&o.PruvanSimPort, "pruvan-sim-port", 8307, "Pruvan simulator"},
		{&o.CubuSimPort, "cubu-sim-port", 8308, "Cubu simulator"},
	}
	for _, sp := range simPorts {
		fs.IntVar(sp.p, sp.name, sp.def, sp.simulated+" port")
	}
	demo := fs.Int("demo", 0, "create N demo tickets and play staff on them over a few minutes")
	demoStep := fs.Duration("demo-step", 10*time.Second, "pause between two simulated staff actions")
	logLevel := fs.String("log-level", "warn", "log level: debug|info|warn|error")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("dev: unexpected argument %q", fs.Arg(0))}
	}
	if *demo < 0 || *demo > 1000 {
		return usageError{"dev: --demo must be between 0 and 1000"}
	}
	if o.Retention < 24*time.Hour {
		return usageError{"dev: --retention must be at least 24h (Temporal's minimum)"}
	}
	if o.PollInterval < time.Second {
		return usageError{"dev: --poll-interval must be at least 1s"}
	}
	ports := map[string]int{"--temporal-port": o.TemporalPort, "--ui-port": o.UIPort}
	for _, sp := range simPorts {
		ports["--"+sp.name] = *sp.p
	}
	for _, name := range slices.Sorted(maps.Keys(ports)) {
		if p := ports[name]; p < 1 || p > 65535 {
			return usageError{fmt.Sprintf("dev: %s must be a port number (1-65535), got %d", name, p)}
		}
	}
	o.Logger = app.NewLogger(*logLevel, "text", stderr)
	fmt.Fprintln(stdout, "starting ticketsync dev …")
	stack, err := devstack.Start(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, stack.Banner())
	if *demo > 0 {
		go func() {
			if err := stack.RunDemo(ctx, devstack.DemoOptions{Count: *demo, Step: *demoStep, Out: stdout}); err != nil && ctx.Err() == nil {
				fmt.Fprintln(stderr, "demo:", err)
			} else if err == nil {
				fmt.Fprintln(stdout, "demo: all scripts played; open Temporal Web to read the histories")
			}
		}()
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping: API, worker, Temporal Web, Temporal server, simulators …")
	if err := stack.Stop(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "stopped cleanly")
	return nil
}
