// Command pulumi-resource-command is winpe-lab's own implementation of the `command` resource provider
// plugin (version 1.2.1), for the `local.Command` resource and `local.run` function of the
// @pulumi/command 1.2.1 Node SDK.
//
// Why it exists: the Go module proxy refuses github.com/pulumi/pulumi-command/provider (and
// github.com/pulumi/pulumi-go-provider, which it is built on), so the upstream plugin cannot be built
// offline. See engine/README.md for the exact semantics we implement.
//
// Protocol (sdk/v3 go/common/resource/plugin, pkg/v3 resource/provider):
//
//  1. The engine starts us as `pulumi-resource-command [--logtostderr] [-v=N] [--tracing url] <engine
//     address>`. provider.Main parses that, connects back to the engine (for logging), listens on a
//     free port and prints it on stdout; the engine then dials us.
//  2. The engine calls Handshake, GetPluginInfo, CheckConfig/DiffConfig/Configure for the provider
//     resource, then for each `command:local:Command` resource Check -> Diff -> Create/Update/Delete
//     (Create/Update also with preview=true during `pulumi preview`), Read for `pulumi refresh`, and
//     Invoke for `command:local:run`.
//  3. Properties travel as protobuf Structs with Pulumi's special encodings for secrets, unknowns and
//     assets; plugin.MarshalProperties/UnmarshalProperties convert them to resource.PropertyMap.
//  4. The engine stops us with SIGINT.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/pkg/v3/resource/provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	providerName    = "command"
	providerVersion = "1.2.1"
	commandType     = "command:local:Command"
	runFunction     = "command:local:run"
)

func main() {
	err := provider.Main(providerName, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &commandProvider{host: host}, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: %v\n", err)
		os.Exit(1)
	}
}

// commandProvider implements pulumirpc.ResourceProviderServer. Methods not defined here (Construct,
// Call, Parameterize, Attach, GetMapping(s), List) return codes.Unimplemented via the embedded type.
type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	host *provider.HostClient // nil when started without an engine address (attach mode)
}

// Marshalling options. State and outputs keep secrets and unknowns as such; Diff compares plain
// values (a value that only became secret is not a change).
var (
	keepAll = plugin.MarshalOptions{
		Label: "command", KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipNulls: true,
	}
	plainValues = plugin.MarshalOptions{Label: "command.diff", KeepUnknowns: true, SkipNulls: true}
)

// ---- Provider-level calls --------------------------------------------------------------------------

// Handshake tells the engine we understand secrets (it then sends secret inputs to us still marked as
// secrets, and we keep them marked in the state).
func (p *commandProvider) Handshake(
	context.Context, *pulumirpc.ProviderHandshakeRequest,
) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true}, nil
}

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: providerVersion}, nil
}

// GetSchema returns a minimal hand-written schema for the two tokens we implement.
func (p *commandProvider) GetSchema(
	context.Context, *pulumirpc.GetSchemaRequest,
) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schemaJSON}, nil
}

// The provider has no configuration: accept whatever is given.
func (p *commandProvider) CheckConfig(
	_ context.Context, req *pulumirpc.CheckRequest,
) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *commandProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *commandProvider) Configure(
	context.Context, *pulumirpc.ConfigureRequest,
) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *commandProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// ---- Resource lifecycle ----------------------------------------------------------------------------

// Check validates the shape of the inputs and passes them through unchanged.
func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), keepAll)
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for _, f := range validateInputs(news, commandInputKeys) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: f.property, Reason: f.reason})
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

// replacing maps a diff kind to its "and this forces a replacement" variant.
var replacing = map[pulumirpc.PropertyDiff_Kind]pulumirpc.PropertyDiff_Kind{
	pulumirpc.PropertyDiff_ADD:    pulumirpc.PropertyDiff_ADD_REPLACE,
	pulumirpc.PropertyDiff_DELETE: pulumirpc.PropertyDiff_DELETE_REPLACE,
	pulumirpc.PropertyDiff_UPDATE: pulumirpc.PropertyDiff_UPDATE_REPLACE,
}

// Diff compares the old inputs with the new ones. A change to a key in replaceKeys (triggers,
// interpreter, dir) replaces the resource; a change to any other input updates it in place.
func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	oldStruct := req.GetOldInputs()
	if oldStruct == nil {
		oldStruct = req.GetOlds() // state written before old inputs were recorded: outputs hold the inputs
	}
	olds, err := plugin.UnmarshalProperties(oldStruct, plainValues)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), plainValues)
	if err != nil {
		return nil, err
	}
	ignored := map[string]bool{}
	for _, k := range req.GetIgnoreChanges() {
		ignored[k] = true
	}

	detailed := map[string]*pulumirpc.PropertyDiff{}
	var diffs, replaces []string
	for _, key := range commandInputKeys {
		if ignored[key] {
			continue
		}
		o, hasOld := olds[resource.PropertyKey(key)]
		n, hasNew := news[resource.PropertyKey(key)]
		hasOld = hasOld && !o.IsNull()
		hasNew = hasNew && !n.IsNull()
		var kind pulumirpc.PropertyDiff_Kind
		switch {
		case !hasOld && !hasNew:
			continue
		case !hasOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		case n.ContainsUnknowns() || !o.DeepEquals(n):
			kind = pulumirpc.PropertyDiff_UPDATE
		default:
			continue
		}
		if replaceKeys[key] {
			kind = replacing[kind]
			replaces = append(replaces, key)
		}
		diffs = append(diffs, key)
		detailed[key] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}

	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{
		Changes:         changes,
		Diffs:           diffs,
		Replaces:        replaces,
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}, nil
}

// Create runs `create`. During preview nothing runs and stdout/stderr are unknown.
func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), keepAll)
	if err != nil {
		return nil, err
	}
	id := ""
	var outputs resource.PropertyMap
	if req.GetPreview() {
		outputs = previewOutputs(inputs)
	} else {
		ctx, cancel := withTimeout(ctx, req.GetTimeout())
		defer cancel()
		outputs, err = p.runLifecycle(ctx, resource.URN(req.GetUrn()), inputs, "create", nil)
		if err != nil {
			return nil, err
		}
		id, err = newID(resource.URN(req.GetUrn()).Name())
		if err != nil {
			return nil, err
		}
	}
	props, err := plugin.MarshalProperties(outputs, keepAll)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Update runs `update`, or `create` when no `update` command is set, with the previous stdout/stderr
// in PULUMI_COMMAND_STDOUT/PULUMI_COMMAND_STDERR unless addPreviousOutputInEnv is false.
func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), keepAll)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), keepAll)
	if err != nil {
		return nil, err
	}
	var outputs resource.PropertyMap
	if req.GetPreview() {
		outputs = previewOutputs(news)
	} else {
		ctx, cancel := withTimeout(ctx, req.GetTimeout())
		defer cancel()
		outputs, err = p.runLifecycle(ctx, resource.URN(req.GetUrn()), news, "update", olds)
		if err != nil {
			return nil, err
		}
	}
	props, err := plugin.MarshalProperties(outputs, keepAll)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete runs `delete` if set, with the last stdout/stderr in PULUMI_COMMAND_STDOUT/STDERR.
func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	state, err := plugin.UnmarshalProperties(req.GetProperties(), keepAll)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(ctx, req.GetTimeout())
	defer cancel()
	if _, err := p.runLifecycle(ctx, resource.URN(req.GetUrn()), state, "delete", state); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Read (`pulumi refresh`, `pulumi import`) cannot observe what a command did, so the state is returned
// as is, with one exception: the engine sends assets with their contents elided (hash only), so
// `assets`/`archive` are collected again from the files on disk (as Create did) rather than echoed.
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	state, err := plugin.UnmarshalProperties(req.GetProperties(), keepAll)
	if err != nil {
		return nil, err
	}
	inputs := req.GetInputs()
	if inputs == nil {
		if inputs, err = plugin.MarshalProperties(pick(state, commandInputKeys), keepAll); err != nil {
			return nil, err
		}
	}
	spec, err := parseSpec(state)
	if err != nil {
		return nil, err
	}
	delete(state, "assets")
	delete(state, "archive")
	if err := collectAssets(spec, state); err != nil {
		return nil, err
	}
	props, err := plugin.MarshalProperties(state, keepAll)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: inputs}, nil
}

// ---- Functions -------------------------------------------------------------------------------------

// Invoke implements `command:local:run`: run `command` now (also during preview, like upstream) and
// return the inputs plus stdout/stderr (and assets/archive when asked for).
func (p *commandProvider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != runFunction {
		return nil, status.Errorf(codes.NotFound, "unknown function %q: this provider implements only %s",
			req.GetTok(), runFunction)
	}
	args, err := plugin.UnmarshalProperties(req.GetArgs(), keepAll)
	if err != nil {
		return nil, err
	}
	if failures := validateInputs(args, runInputKeys); len(failures) > 0 {
		var out []*pulumirpc.CheckFailure
		for _, f := range failures {
			out = append(out, &pulumirpc.CheckFailure{Property: f.property, Reason: f.reason})
		}
		return &pulumirpc.InvokeResponse{Failures: out}, nil
	}
	if _, ok := args["command"]; !ok {
		return &pulumirpc.InvokeResponse{Failures: []*pulumirpc.CheckFailure{
			{Property: "command", Reason: "'command' is required"},
		}}, nil
	}
	outputs, err := p.runLifecycle(ctx, "", args, "command", nil)
	if err != nil {
		return nil, err
	}
	ret, err := plugin.MarshalProperties(outputs, keepAll)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

// ---- Helpers ---------------------------------------------------------------------------------------

func checkType(urn string) error {
	if t := resource.URN(urn).Type(); t != commandType {
		return status.Errorf(codes.InvalidArgument, "unknown resource type %q: this provider implements only %s",
			t, commandType)
	}
	return nil
}

// previewOutputs are the outputs shown by `pulumi preview`: the inputs, with stdout/stderr (and
// assets/archive when requested) unknown because the command has not run.
func previewOutputs(inputs resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	unknown := resource.MakeComputed(resource.NewStringProperty(""))
	out["stdout"] = unknown
	out["stderr"] = unknown
	if listHasItems(inputs["assetPaths"]) {
		out["assets"] = unknown
	}
	if listHasItems(inputs["archivePaths"]) {
		out["archive"] = unknown
	}
	return out
}

func listHasItems(v resource.PropertyValue) bool {
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v.IsComputed() || (v.IsArray() && len(v.ArrayValue()) > 0)
}

// pick returns the entries of m whose keys are listed.
func pick(m resource.PropertyMap, keys []string) resource.PropertyMap {
	out := resource.PropertyMap{}
	for _, k := range keys {
		if v, ok := m[resource.PropertyKey(k)]; ok {
			out[resource.PropertyKey(k)] = v
		}
	}
	return out
}

func withTimeout(ctx context.Context, seconds float64) (context.Context, context.CancelFunc) {
	if seconds <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Duration(seconds*float64(time.Second)))
}

// newID makes the resource ID: the resource name and a random suffix, as upstream does.
func newID(name string) (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", errors.New("could not generate a resource ID")
	}
	return name + "-" + hex.EncodeToString(b), nil
}

// sortedKeys returns the keys of a string map in order (stable environment and error output).
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
