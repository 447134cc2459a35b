package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseArgs(t *testing.T) {
	opts, err := parseArgs([]string{"--tracing", "http://t", "-root=/r", "-typescript=false", "--unknown", "127.0.0.1:1234"})
	if err != nil {
		t.Fatal(err)
	}
	if opts.engineAddress != "127.0.0.1:1234" || opts.tracing != "http://t" || opts.root != "/r" || opts.typescript {
		t.Fatalf("unexpected options: %+v", opts)
	}
	if opts, err := parseArgs([]string{"-v=3"}); err != nil || opts.engineAddress != "" {
		t.Fatalf("attach mode (no engine address): %+v %v", opts, err)
	}
}

func TestRequiredPluginsAndDependencies(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("package.json", `{"dependencies": {"@pulumi/command": "1.2.1"}, "devDependencies": {"typescript": "^5"}}`)
	write("node_modules/@pulumi/command/package.json",
		`{"name": "@pulumi/command", "version": "1.2.1", "dependencies": {"@pulumi/pulumi": "^3"},
		  "pulumi": {"resource": true, "name": "command", "version": "1.2.1"}}`)
	write("node_modules/@pulumi/pulumi/package.json", `{"name": "@pulumi/pulumi", "version": "3.248.0"}`)
	write("node_modules/typescript/package.json", `{"name": "typescript", "version": "5.9.3"}`)
	write("node_modules/@pulumi/pulumi/cmd/run/index.js", ``)

	plugins := requiredPlugins(filepath.Join(dir))
	if len(plugins) != 1 || plugins[0].Name != "command" || plugins[0].Version != "1.2.1" {
		t.Fatalf("unexpected plugins: %+v", plugins)
	}
	deps, err := programDependencies(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 2 || deps[0].Name != "@pulumi/command" || deps[1].Version != "5.9.3" {
		t.Fatalf("unexpected dependencies: %v", deps)
	}
	sub := filepath.Join(dir, "src")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, ok := findModule(sub, runnerModule); !ok || got != filepath.Join(dir, "node_modules", runnerModule) {
		t.Fatalf("findModule: %q %v", got, ok)
	}
}
