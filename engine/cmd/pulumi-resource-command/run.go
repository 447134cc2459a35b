package main

// Running a command: turning the resource's properties into a process (interpreter + command string,
// dir, environment, stdin), capturing its output, and turning the result into output properties.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/archive"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/asset"
)

// Inputs of command:local:Command (see @pulumi/command 1.2.1 local/command.d.ts).
var commandInputKeys = []string{
	"addPreviousOutputInEnv", "archivePaths", "assetPaths", "create", "delete", "dir", "environment",
	"interpreter", "logging", "stdin", "triggers", "update",
}

// Inputs of the command:local:run function (local/run.d.ts).
var runInputKeys = []string{
	"addPreviousOutputInEnv", "archivePaths", "assetPaths", "command", "dir", "environment",
	"interpreter", "logging", "stdin",
}

// replaceKeys are the inputs whose change replaces the resource instead of updating it.
var replaceKeys = map[string]bool{"triggers": true, "interpreter": true, "dir": true}

// defaultInterpreter runs the command string through the shell, as the upstream provider does on
// Linux. The command strings are user-written shell snippets by design.
var defaultInterpreter = []string{"/bin/sh", "-c"}

// Values of the `logging` input.
const (
	logStdout          = "stdout"
	logStderr          = "stderr"
	logStdoutAndStderr = "stdoutAndStderr"
	logNone            = "none"
)

// commandSpec is a Command's (or run's) inputs as plain Go values.
type commandSpec struct {
	create, update, delete, command string
	dir                             string
	environment                     map[string]string
	interpreter                     []string
	stdin                           *string
	logging                         string
	addPreviousOutputInEnv          bool
	assetPaths, archivePaths        []string
	// secret is true when any input that shapes the process or its output is a secret. Then
	// stdout/stderr are returned as secrets, and are neither logged nor quoted in error messages.
	secret bool
}

// failure is one Check failure.
type failure struct{ property, reason string }

// validateInputs checks the type of every known input that is set and known. Unknown keys are left
// alone, as are unknown (computed) values.
func validateInputs(m resource.PropertyMap, keys []string) []failure {
	var out []failure
	for _, key := range keys {
		v, ok := m[resource.PropertyKey(key)]
		if !ok {
			continue
		}
		v = unsecret(v)
		if v.IsNull() || v.ContainsUnknowns() {
			continue
		}
		bad := func(want string) { out = append(out, failure{key, fmt.Sprintf("'%s' must be %s", key, want)}) }
		switch key {
		case "create", "update", "delete", "command", "dir", "stdin":
			if !v.IsString() {
				bad("a string")
			}
		case "addPreviousOutputInEnv":
			if !v.IsBool() {
				bad("a boolean")
			}
		case "logging":
			switch {
			case !v.IsString():
				bad("a string")
			case v.StringValue() != logStdout && v.StringValue() != logStderr &&
				v.StringValue() != logStdoutAndStderr && v.StringValue() != logNone:
				bad(`one of "stdout", "stderr", "stdoutAndStderr", "none"`)
			}
		case "environment":
			if !v.IsObject() {
				bad("a map of strings")
				continue
			}
			for name, ev := range v.ObjectValue() {
				if !ev.IsString() {
					out = append(out, failure{key, fmt.Sprintf("'environment.%s' must be a string", name)})
				}
			}
		case "interpreter", "assetPaths", "archivePaths":
			if !isStringList(v) {
				bad("a list of strings")
			} else if key == "interpreter" && len(v.ArrayValue()) == 0 {
				bad("a non-empty list (program and arguments), e.g. [\"/bin/sh\", \"-c\"]")
			}
		case "triggers":
			if !v.IsArray() {
				bad("a list")
			}
		}
	}
	return out
}

func isStringList(v resource.PropertyValue) bool {
	if !v.IsArray() {
		return false
	}
	for _, e := range v.ArrayValue() {
		if !e.IsString() {
			return false
		}
	}
	return true
}

// unsecret returns v with every secret marker removed, at any depth.
func unsecret(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return unsecret(v.SecretValue().Element)
	case v.IsArray():
		elems := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			elems[i] = unsecret(e)
		}
		return resource.NewArrayProperty(elems)
	case v.IsObject():
		obj := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			obj[k] = unsecret(e)
		}
		return resource.NewObjectProperty(obj)
	}
	return v
}

// parseSpec reads the inputs into a commandSpec. Inputs were validated by Check; anything still of the
// wrong type here is reported as an error.
func parseSpec(inputs resource.PropertyMap) (commandSpec, error) {
	spec := commandSpec{logging: logStdoutAndStderr, addPreviousOutputInEnv: true}
	if failures := validateInputs(inputs, append(commandInputKeys, "command")); len(failures) > 0 {
		return spec, errors.New(failures[0].reason)
	}
	str := func(key string) string {
		if v := unsecret(inputs[resource.PropertyKey(key)]); v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	list := func(key string) []string {
		var out []string
		if v := unsecret(inputs[resource.PropertyKey(key)]); v.IsArray() {
			for _, e := range v.ArrayValue() {
				out = append(out, e.StringValue())
			}
		}
		return out
	}
	spec.create, spec.update, spec.delete, spec.command = str("create"), str("update"), str("delete"), str("command")
	spec.dir = str("dir")
	if v := unsecret(inputs["stdin"]); v.IsString() {
		s := v.StringValue()
		spec.stdin = &s
	}
	if l := str("logging"); l != "" {
		spec.logging = l
	}
	if v := unsecret(inputs["addPreviousOutputInEnv"]); v.IsBool() {
		spec.addPreviousOutputInEnv = v.BoolValue()
	}
	spec.interpreter = list("interpreter")
	if len(spec.interpreter) == 0 {
		spec.interpreter = defaultInterpreter
	}
	spec.assetPaths, spec.archivePaths = list("assetPaths"), list("archivePaths")
	if v := unsecret(inputs["environment"]); v.IsObject() {
		spec.environment = map[string]string{}
		for k, e := range v.ObjectValue() {
			spec.environment[string(k)] = e.StringValue()
		}
	}
	for _, key := range []string{"create", "update", "delete", "command", "dir", "environment", "interpreter", "stdin"} {
		if v, ok := inputs[resource.PropertyKey(key)]; ok && v.ContainsSecrets() {
			spec.secret = true
		}
	}
	return spec, nil
}

// runLifecycle runs the command for one operation and returns the output properties:
//
//   - "create": `create`; outputs = inputs + stdout/stderr (+ assets/archive).
//   - "update": `update`, or `create` when `update` is not set; previous outputs are in the environment
//     unless addPreviousOutputInEnv is false. With neither command set, the previous stdout/stderr stay.
//   - "delete": `delete` if set, always with the previous outputs in the environment; outputs unused.
//   - "command": the `command` of the local.run function.
func (p *commandProvider) runLifecycle(
	ctx context.Context, urn resource.URN, inputs resource.PropertyMap, op string, previous resource.PropertyMap,
) (resource.PropertyMap, error) {
	spec, err := parseSpec(inputs)
	if err != nil {
		return nil, err
	}
	script, name := "", op
	switch op {
	case "create":
		script = spec.create
	case "update":
		script, name = spec.update, "update"
		if script == "" {
			script, name = spec.create, "create"
		}
	case "delete":
		script = spec.delete
	case "command":
		script = spec.command
	}

	outputs := inputs.Copy()
	prevOut, prevErr := previousOutput(previous, "stdout"), previousOutput(previous, "stderr")
	if script == "" {
		if op == "delete" {
			return nil, nil
		}
		// Nothing to run: keep what the last run produced.
		outputs["stdout"], outputs["stderr"] = p.wrap(spec, prevOut), p.wrap(spec, prevErr)
		return outputs, collectAssets(spec, outputs)
	}

	env := map[string]string{}
	if previous != nil && (op == "delete" || spec.addPreviousOutputInEnv) {
		env["PULUMI_COMMAND_STDOUT"], env["PULUMI_COMMAND_STDERR"] = prevOut, prevErr
	}
	for k, v := range spec.environment {
		env[k] = v
	}

	stdout, stderr, err := p.execute(ctx, urn, spec, script, env)
	if err != nil {
		return nil, describeFailure(name, spec, stdout, stderr, err)
	}
	if op == "delete" {
		return nil, nil
	}
	outputs["stdout"], outputs["stderr"] = p.wrap(spec, stdout), p.wrap(spec, stderr)
	if err := collectAssets(spec, outputs); err != nil {
		return nil, err
	}
	return outputs, nil
}

// wrap makes a string output property, secret when the spec involves secrets.
func (p *commandProvider) wrap(spec commandSpec, s string) resource.PropertyValue {
	v := resource.NewStringProperty(s)
	if spec.secret {
		return resource.MakeSecret(v)
	}
	return v
}

func previousOutput(previous resource.PropertyMap, key string) string {
	if v := unsecret(previous[resource.PropertyKey(key)]); v.IsString() {
		return v.StringValue()
	}
	return ""
}

// execute runs interpreter... script in spec.dir with the extra environment, feeding spec.stdin, and
// returns stdout and stderr with one trailing newline removed. Lines are logged to the engine as
// they arrive, as the `logging` input asks (never when secrets are involved).
func (p *commandProvider) execute(
	ctx context.Context, urn resource.URN, spec commandSpec, script string, env map[string]string,
) (string, string, error) {
	argv := append(append([]string{}, spec.interpreter...), script)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = spec.dir
	cmd.Env = os.Environ()
	for _, k := range sortedKeys(env) {
		cmd.Env = append(cmd.Env, k+"="+env[k]) // later entries win
	}
	if spec.stdin != nil {
		cmd.Stdin = strings.NewReader(*spec.stdin)
	}
	// On timeout or cancellation: SIGTERM first, SIGKILL 5 s later.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second

	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", err
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return "", "", err
	}
	if err := cmd.Start(); err != nil {
		return "", "", err
	}

	logOut := !spec.secret && (spec.logging == logStdout || spec.logging == logStdoutAndStderr)
	logErr := !spec.secret && (spec.logging == logStderr || spec.logging == logStdoutAndStderr)
	var stdout, stderr strings.Builder
	var wg sync.WaitGroup
	wg.Add(2)
	go p.capture(ctx, &wg, outPipe, &stdout, urn, logOut)
	go p.capture(ctx, &wg, errPipe, &stderr, urn, logErr)
	wg.Wait() // pipes must be drained before Wait
	err = cmd.Wait()
	return strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n"), err
}

// capture copies r into buf, logging each line to the engine when log is set.
func (p *commandProvider) capture(
	ctx context.Context, wg *sync.WaitGroup, r io.Reader, buf *strings.Builder, urn resource.URN, log bool,
) {
	defer wg.Done()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		buf.WriteString(line)
		if log && p.host != nil && strings.TrimSpace(line) != "" {
			_ = p.host.Log(ctx, diag.Info, urn, strings.TrimRight(line, "\r\n")) // best effort
		}
		if err != nil {
			return
		}
	}
}

// describeFailure turns a failed run into the error the user sees: which command, the exit status and
// what it printed (unless secrets are involved).
func describeFailure(name string, spec commandSpec, stdout, stderr string, err error) error {
	var exitErr *exec.ExitError
	var msg string
	if errors.As(err, &exitErr) {
		if exitErr.ExitCode() >= 0 {
			msg = fmt.Sprintf("`%s` exited with status %d", name, exitErr.ExitCode())
		} else {
			msg = fmt.Sprintf("`%s` was stopped: %s", name, exitErr.String())
		}
	} else {
		msg = fmt.Sprintf("`%s` could not be started: %v (interpreter %q, dir %q)", name, err, spec.interpreter, spec.dir)
	}
	if spec.secret {
		return errors.New(msg + " (output not shown: the inputs contain secrets)")
	}
	section := func(label, s string) string {
		if strings.TrimSpace(s) == "" {
			return "\n" + label + ": (empty)"
		}
		return "\n" + label + ":\n" + s
	}
	return errors.New(msg + section("stdout", stdout) + section("stderr", stderr))
}

// collectAssets adds `assets` (a map of relative path -> file asset) and `archive` (one archive of
// the matching files) for the assetPaths/archivePaths globs, evaluated in the command's directory.
// Without assetPaths/archivePaths it does nothing.
func collectAssets(spec commandSpec, outputs resource.PropertyMap) error {
	if len(spec.assetPaths) == 0 && len(spec.archivePaths) == 0 {
		return nil
	}
	base := spec.dir
	if base == "" {
		base = "."
	}
	base, err := filepath.Abs(base)
	if err != nil {
		return err
	}
	if len(spec.assetPaths) > 0 {
		files, err := matchFiles(base, spec.assetPaths)
		if err != nil {
			return fmt.Errorf("assetPaths: %w", err)
		}
		assets := resource.PropertyMap{}
		for _, rel := range files {
			a, err := asset.FromPath(filepath.Join(base, filepath.FromSlash(rel)))
			if err != nil {
				return fmt.Errorf("assetPaths: reading %s: %w", rel, err)
			}
			assets[resource.PropertyKey(rel)] = resource.NewAssetProperty(a)
		}
		outputs["assets"] = resource.NewObjectProperty(assets)
	}
	if len(spec.archivePaths) > 0 {
		files, err := matchFiles(base, spec.archivePaths)
		if err != nil {
			return fmt.Errorf("archivePaths: %w", err)
		}
		members := map[string]any{}
		for _, rel := range files {
			a, err := asset.FromPath(filepath.Join(base, filepath.FromSlash(rel)))
			if err != nil {
				return fmt.Errorf("archivePaths: reading %s: %w", rel, err)
			}
			members[rel] = a
		}
		arch, err := archive.FromAssets(members)
		if err != nil {
			return fmt.Errorf("archivePaths: %w", err)
		}
		outputs["archive"] = resource.NewArchiveProperty(arch)
	}
	return nil
}
