// Command pulumi-language-nodejs is winpe-lab's own Node.js language host for the Pulumi engine.
//
// Why it exists: the Go module proxy refuses the upstream host
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3), so the CLI we build from
// github.com/pulumi/pulumi/pkg/v3 has no language host to start. This program implements the part of
// the LanguageRuntime gRPC service the engine needs to run a Node.js/TypeScript program. See
// engine/README.md for the list of what is and is not implemented.
//
// Protocol (as implemented by sdk/v3 go/common/resource/plugin):
//
//  1. The engine starts us as `pulumi-language-nodejs [flags] <engine address>`. The engine address is
//     always the last positional argument (absent only when started by hand for PULUMI_DEBUG_LANGUAGES;
//     the engine then sends it in Handshake). Flags the engine may add: `--logtostderr`, `-v=N` (only with
//     `pulumi --logflow`) and `--tracing <url>`. Older/other launchers pass `-root`, `-typescript`,
//     `-tsconfig`, `-nodeargs`; we accept those, and ignore any flag we do not know.
//  2. We listen on a free 127.0.0.1 port and print that port, followed by a newline, on stdout. That
//     line is the only thing the engine reads from our stdout before it dials us; everything written
//     to stdout/stderr afterwards is shown to the user as program output.
//  3. The engine calls GetPluginInfo, GetRequiredPackages and then Run. Run starts Node.js on the
//     Node SDK's own runner (`@pulumi/pulumi/cmd/run`), which connects back to the engine's resource
//     monitor and registers resources; Run returns when Node exits.
//  4. The engine stops us with SIGINT (to our whole process group) when it is done.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is reported by GetPluginInfo. It matches the Node SDK and CLI we pin (3.248.0).
const version = "3.248.0"

// exitCodeAlreadyReported is the exit code the Node SDK's runner uses when it has already shown the
// error to the user through the engine's log (see @pulumi/pulumi/cmd/run/index.js,
// nodeJSProcessExitedAfterLoggingUserActionableMessage). We must then "bail": report failure without
// printing anything more.
const exitCodeAlreadyReported = 32

// runnerModule is the Node SDK's program runner, resolved like Node resolves modules: the nearest
// node_modules folder at or above the program directory.
var runnerModule = filepath.Join("@pulumi", "pulumi", "cmd", "run")

// hostOptions are the command-line settings of this process.
type hostOptions struct {
	engineAddress string // last positional argument
	tracing       string // --tracing <url>, forwarded to the runner
	root          string // -root <dir>, accepted for compatibility (ProgramInfo carries the root now)
	typescript    bool   // -typescript[=bool], default true; Pulumi.yaml runtime option `typescript` wins
	tsconfig      string // -tsconfig <path>; runtime option `tsconfig` wins
	nodeargs      string // -nodeargs "<args>"; runtime option `nodeargs` wins
}

// valueFlags are the flags that take a value as the next argument when written without `=`. (The
// engine always writes `-v=N`, so `-v` is not listed: it must never swallow the engine address.)
var valueFlags = map[string]bool{
	"tracing": true, "root": true, "tsconfig": true, "nodeargs": true, "packagemanager": true,
}

// parseArgs reads our command line leniently: flags may use one or two dashes and `-k v` or `-k=v`;
// unknown flags are ignored so that a newer engine adding a flag does not break us. The glog flags the
// engine forwards (`-v`, `-logtostderr`) are handed to the standard flag set that Pulumi's logging
// package reads.
func parseArgs(args []string) (hostOptions, error) {
	opts := hostOptions{typescript: true}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			positional = append(positional, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !hasValue && valueFlags[name] && i+1 < len(args) {
			i++
			value, hasValue = args[i], true
		}
		switch name {
		case "tracing":
			opts.tracing = value
		case "root":
			opts.root = value
		case "tsconfig":
			opts.tsconfig = value
		case "nodeargs":
			opts.nodeargs = value
		case "typescript":
			if hasValue {
				b, err := strconv.ParseBool(value)
				if err != nil {
					return opts, fmt.Errorf("flag -typescript: %q is not a boolean", value)
				}
				opts.typescript = b
			}
		case "logflow":
			// The CLI's own flag; it only decides whether -v/-logtostderr are forwarded to us.
		case "v", "logtostderr":
			if !hasValue {
				value = "true"
			}
			if err := flagSet(name, value); err != nil {
				return opts, err
			}
		default:
			logging.V(5).Infof("ignoring unknown flag %q", arg)
		}
	}
	if len(positional) > 0 {
		opts.engineAddress = positional[len(positional)-1]
	}
	return opts, nil
}

// flagSet hands a glog flag (-v, -logtostderr) to the standard flag set, where Pulumi's logging
// package looks for it.
func flagSet(name, value string) error {
	if f := flag.CommandLine.Lookup(name); f != nil {
		if err := f.Value.Set(value); err != nil {
			return fmt.Errorf("flag -%s: %w", name, err)
		}
	}
	return nil
}

func main() {
	if err := serve(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

// serve starts the gRPC server, prints the port and blocks until the engine goes away or stops us.
func serve(args []string) error {
	opts, err := parseArgs(args)
	if err != nil {
		return err
	}
	logging.InitLogging(false, 0, false)

	// Stop when the engine sends SIGINT/SIGTERM, or when it stops answering health checks (so we never
	// outlive a crashed engine).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, opts.engineAddress, 5*time.Minute, cancel); err != nil {
			return fmt.Errorf("could not start health check of the engine at %s: %w", opts.engineAddress, err)
		}
	} // else: started by hand for PULUMI_DEBUG_LANGUAGES; the engine sends its address in Handshake

	cancelChannel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancelChannel)
	}()

	host := &languageHost{opts: opts}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("could not start the language host gRPC server: %w", err)
	}

	// The plugin protocol: the first line on stdout is our port.
	fmt.Printf("%d\n", handle.Port)

	return <-handle.Done
}

// languageHost implements pulumirpc.LanguageRuntimeServer. Methods we do not override return
// codes.Unimplemented through the embedded UnimplementedLanguageRuntimeServer; the engine treats that
// as "not supported" where it has a fallback (Handshake, GetRequiredPackages, Cancel).
type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	mu   sync.Mutex // guards opts, which Handshake may update
	opts hostOptions
}

// options returns a copy of the host options.
func (h *languageHost) options() hostOptions {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opts
}

// Handshake is only sent by engines that attach to an already running host (PULUMI_DEBUG_LANGUAGES);
// the 3.248 engine does not send it when it starts us itself. We accept it and take the engine
// address from it.
func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.opts.engineAddress = req.GetEngineAddress()
	}
	if req.RootDirectory != nil {
		h.opts.root = req.GetRootDirectory()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports our version.
func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetRequiredPlugins is the pre-3.x form of GetRequiredPackages; both report the resource plugins the
// program's npm dependencies declare (package.json "pulumi": {"resource": true, ...}).
func (h *languageHost) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := programDirectory(req.GetInfo(), req.GetPwd())
	var plugins []*pulumirpc.PluginDependency
	for _, p := range requiredPlugins(dir) {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// GetRequiredPackages: see GetRequiredPlugins. Plugin auto-acquisition is disabled for this project,
// so the list is advisory: the engine uses it to load the plugins before the program starts.
func (h *languageHost) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	dir := programDirectory(req.GetInfo(), "")
	var packages []*pulumirpc.PackageDependency
	for _, p := range requiredPlugins(dir) {
		packages = append(packages, &pulumirpc.PackageDependency{
			Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// GetProgramDependencies lists the program's npm dependencies (package.json dependencies and
// devDependencies) with their installed versions, for `pulumi about` and update metadata.
func (h *languageHost) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDirectory(req.GetInfo(), req.GetPwd())
	deps, err := programDependencies(dir)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// InstallDependencies (`pulumi install`, `pulumi new`) does nothing: this project installs its
// dependencies with `npm ci` from a pinned package-lock.json.
func (h *languageHost) InstallDependencies(
	_ *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	msg := "pulumi-language-nodejs (winpe-lab): dependencies are installed by `npm ci`; nothing to do.\n"
	return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte(msg)})
}

// RuntimeOptionsPrompts: we have no interactive runtime options to offer to `pulumi new`.
func (h *languageHost) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// About reports the node executable and its version for `pulumi about`.
func (h *languageHost) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "could not find node on PATH: %v", err)
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running %s --version: %w", node, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

// Cancel is sent when the engine shuts down. A running program gets the engine's SIGINT through the
// process group, so there is nothing extra to do; answering tells the engine we shut down cleanly.
func (h *languageHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// runtimeOptions are the `runtime.options` of Pulumi.yaml we understand, with command-line defaults.
type runtimeOptions struct {
	typescript bool
	tsconfig   string
	nodeargs   string
}

func (h *languageHost) runtimeOptions(info *pulumirpc.ProgramInfo) runtimeOptions {
	opts := h.options()
	ro := runtimeOptions{typescript: opts.typescript, tsconfig: opts.tsconfig, nodeargs: opts.nodeargs}
	fields := info.GetOptions().GetFields()
	if v, ok := fields["typescript"]; ok {
		if _, isBool := v.GetKind().(*structpb.Value_BoolValue); isBool {
			ro.typescript = v.GetBoolValue()
		} else if b, err := strconv.ParseBool(v.GetStringValue()); err == nil {
			ro.typescript = b
		}
	}
	if v, ok := fields["tsconfig"]; ok {
		ro.tsconfig = v.GetStringValue()
	}
	if v, ok := fields["nodeargs"]; ok {
		ro.nodeargs = v.GetStringValue()
	}
	return ro
}

// Run runs the program to completion:
//
//	node [nodeargs] <node_modules>/@pulumi/pulumi/cmd/run --monitor=... --engine=... [--flags] <entry point> [args]
//
// in the program directory, with the stack configuration in PULUMI_CONFIG (a JSON object of
// "project:key" -> value) and the secret keys in PULUMI_CONFIG_SECRET_KEYS (a JSON array), which is
// where the Node SDK reads them (runtime/config.js). PULUMI_NODEJS_TYPESCRIPT=true makes the runner
// register ts-node (runtime option `typescript`, default true); it then uses ./tsconfig.json or
// PULUMI_NODEJS_TSCONFIG_PATH (runtime option `tsconfig`).
//
// Node's stdout/stderr are ours, which the engine shows as program output. Exit code 0 is success; 32
// means the runner already logged the error, so we bail (the engine prints nothing more); any other
// exit code is returned as RunResponse.error.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	programDir := programDirectory(req.GetInfo(), req.GetPwd())
	entryPoint := req.GetInfo().GetEntryPoint()
	if entryPoint == "" {
		entryPoint = req.GetProgram() //nolint:staticcheck // older engines only set the deprecated field
	}
	if entryPoint == "" {
		entryPoint = "."
	}
	opts := h.options()
	rootDir := req.GetInfo().GetRootDirectory()
	if rootDir == "" {
		rootDir = opts.root
	}
	ro := h.runtimeOptions(req.GetInfo())

	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find `node` on PATH; install Node.js 20 or newer"}, nil
	}
	runner, ok := findModule(programDir, runnerModule)
	if !ok {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf(
			"could not find %s in a node_modules folder at or above %s; run `npm ci` first",
			filepath.ToSlash(runnerModule), programDir)}, nil
	}

	args := strings.Fields(ro.nodeargs)
	args = append(args, runner)
	addFlag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name+"="+value)
		}
	}
	addFlag("monitor", req.GetMonitorAddress())
	addFlag("engine", opts.engineAddress)
	addFlag("organization", req.GetOrganization())
	addFlag("project", req.GetProject())
	addFlag("stack", req.GetStack())
	addFlag("pwd", programDir)
	addFlag("root-directory", rootDir)
	if req.GetParallel() > 0 {
		addFlag("parallel", strconv.Itoa(int(req.GetParallel())))
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	addFlag("tracing", opts.tracing)
	args = append(args, entryPoint)
	args = append(args, req.GetArgs()...)

	configJSON, err := json.Marshal(nonNilMap(req.GetConfig()))
	if err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	secretKeys := append([]string{}, req.GetConfigSecretKeys()...)
	sort.Strings(secretKeys)
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("encoding config secret keys: %w", err)
	}

	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(ro.typescript),
	)
	if ro.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+ro.tsconfig)
	}

	logging.V(5).Infof("Run: %s %s (in %s)", node, strings.Join(args, " "), programDir)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = programDir
	cmd.Env = env // exec keeps the last value of a duplicated key, so ours win
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	// If the engine abandons the call, ask Node to stop like Ctrl-C would, then kill it after 10 s.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr):
		code := exitErr.ExitCode()
		if code == exitCodeAlreadyReported {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		if code < 0 {
			return &pulumirpc.RunResponse{Error: "Program was terminated: " + exitErr.String()}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start %s: %v", node, err)}, nil
	}
}

// programDirectory is where the program lives: ProgramInfo.program_directory, or the deprecated pwd.
func programDirectory(info *pulumirpc.ProgramInfo, pwd string) string {
	if d := info.GetProgramDirectory(); d != "" {
		return d
	}
	if pwd != "" {
		return pwd
	}
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
