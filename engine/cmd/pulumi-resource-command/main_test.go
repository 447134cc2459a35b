package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const testURN = "urn:pulumi:dev::p::command:local:Command::c"

func props(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(m), keepAll)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDiff(t *testing.T) {
	p := &commandProvider{}
	old := map[string]any{"create": "echo a", "dir": "/tmp"}
	cases := []struct {
		news     map[string]any
		changes  []string
		replaces []string
	}{
		{map[string]any{"create": "echo a", "dir": "/tmp"}, nil, nil},
		{map[string]any{"create": "echo b", "dir": "/tmp"}, []string{"create"}, nil},
		{map[string]any{"create": "echo a", "dir": "/"}, []string{"dir"}, []string{"dir"}},
		{map[string]any{"create": "echo a", "dir": "/tmp", "triggers": []any{"x"}}, []string{"triggers"}, []string{"triggers"}},
	}
	for _, c := range cases {
		res, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{
			Urn: testURN, OldInputs: props(t, old), News: props(t, c.news),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.GetDiffs(), c.changes) || !reflect.DeepEqual(res.GetReplaces(), c.replaces) {
			t.Errorf("%v: diffs %v replaces %v", c.news, res.GetDiffs(), res.GetReplaces())
		}
	}
}

func TestRunLifecycle(t *testing.T) {
	p := &commandProvider{}
	dir := t.TempDir()
	inputs := resource.NewPropertyMapFromMap(map[string]any{
		"create":      "cat; echo \"$GREETING\" >&2; echo made > f.txt",
		"update":      "echo \"was: $PULUMI_COMMAND_STDOUT\"",
		"dir":         dir,
		"stdin":       "from stdin\n",
		"environment": map[string]any{"GREETING": "hi"},
		"assetPaths":  []any{"*.txt"},
	})
	out, err := p.runLifecycle(context.Background(), testURN, inputs, "create", nil)
	if err != nil {
		t.Fatal(err)
	}
	if out["stdout"].StringValue() != "from stdin" || out["stderr"].StringValue() != "hi" {
		t.Fatalf("outputs: %v", out)
	}
	if _, ok := out["assets"].ObjectValue()["f.txt"]; !ok {
		t.Fatalf("assets: %v", out["assets"])
	}
	upd, err := p.runLifecycle(context.Background(), testURN, inputs, "update", out)
	if err != nil {
		t.Fatal(err)
	}
	if upd["stdout"].StringValue() != "was: from stdin" {
		t.Fatalf("update stdout: %v", upd["stdout"])
	}

	bad := resource.NewPropertyMapFromMap(map[string]any{"create": "echo out; exit 3"})
	_, err = p.runLifecycle(context.Background(), testURN, bad, "create", nil)
	if err == nil || !strings.Contains(err.Error(), "exited with status 3") || !strings.Contains(err.Error(), "out") {
		t.Fatalf("expected a failure with the output, got %v", err)
	}
}

func TestMatchFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"assets/logos/logo.svg", "src/index.js", "src/secret.js", "top.js"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := matchFiles(dir, []string{"assets/**", "src/**.js", "!**secret.*"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"assets/logos/logo.svg", "src/index.js"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
