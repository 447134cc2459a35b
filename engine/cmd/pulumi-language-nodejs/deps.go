package main

// Reading npm metadata: where a module is installed, which packages are Pulumi resource plugins, and
// which versions the program depends on. We read package.json files directly instead of running npm,
// which keeps these calls fast and offline.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// packageJSON holds the package.json fields we use.
type packageJSON struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	// Pulumi marks packages that need a resource plugin: "pulumi": {"resource": true, "name": "command",
	// "version": "1.2.1", "server": "..."}.
	Pulumi *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pkg packageJSON
	if err := json.Unmarshal(data, &pkg); err != nil {
		return nil, err
	}
	return &pkg, nil
}

// findModule resolves a module path (e.g. "@pulumi/pulumi/cmd/run") the way Node does for a bare
// specifier: the first <dir>/node_modules/<module> that exists, walking up from dir.
func findModule(dir, module string) (string, bool) {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "node_modules", module)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// findPackageJSON returns the nearest package.json at or above dir.
func findPackageJSON(dir string) (string, bool) {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "package.json")
		if _, err := os.Stat(candidate); err == nil {
			return candidate, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// pluginRef is one resource plugin a program needs.
type pluginRef struct {
	Name, Version, Server string
}

// requiredPlugins walks the program's dependency tree (dependencies and optionalDependencies,
// transitively, as installed in node_modules) and collects the packages marked as Pulumi resource
// plugins. Unreadable or missing packages are skipped: this list is advisory.
func requiredPlugins(programDir string) []pluginRef {
	root, ok := findPackageJSON(programDir)
	if !ok {
		return nil
	}
	rootPkg, err := readPackageJSON(root)
	if err != nil {
		return nil
	}

	seen := map[string]bool{} // package.json paths already visited
	found := map[string]pluginRef{}
	var visit func(fromDir string, deps map[string]string)
	visit = func(fromDir string, deps map[string]string) {
		for name := range deps {
			dir, ok := findModule(fromDir, name)
			if !ok {
				continue
			}
			pj := filepath.Join(dir, "package.json")
			if seen[pj] {
				continue
			}
			seen[pj] = true
			pkg, err := readPackageJSON(pj)
			if err != nil {
				continue
			}
			if p := pkg.Pulumi; p != nil && p.Resource {
				ref := pluginRef{Name: p.Name, Version: p.Version, Server: p.Server}
				if ref.Name == "" {
					ref.Name = strings.TrimPrefix(pkg.Name, "@pulumi/")
				}
				if ref.Version == "" {
					ref.Version = pkg.Version
				}
				ref.Version = strings.TrimPrefix(ref.Version, "v")
				found[ref.Name+"@"+ref.Version] = ref
			}
			visit(dir, pkg.Dependencies)
			visit(dir, pkg.OptionalDependencies)
		}
	}
	dir := filepath.Dir(root)
	visit(dir, rootPkg.Dependencies)
	visit(dir, rootPkg.OptionalDependencies)

	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	refs := make([]pluginRef, 0, len(keys))
	for _, k := range keys {
		refs = append(refs, found[k])
	}
	return refs
}

// programDependencies lists the direct dependencies and devDependencies of the program's package.json
// with the version installed in node_modules (or the declared range when not installed).
func programDependencies(programDir string) ([]*pulumirpc.DependencyInfo, error) {
	root, ok := findPackageJSON(programDir)
	if !ok {
		return nil, nil
	}
	pkg, err := readPackageJSON(root)
	if err != nil {
		return nil, err
	}
	declared := map[string]string{}
	for _, deps := range []map[string]string{pkg.DevDependencies, pkg.Dependencies} {
		for name, rng := range deps {
			declared[name] = rng
		}
	}
	names := make([]string, 0, len(declared))
	for name := range declared {
		names = append(names, name)
	}
	sort.Strings(names)

	deps := make([]*pulumirpc.DependencyInfo, 0, len(names))
	for _, name := range names {
		version := declared[name]
		if dir, ok := findModule(filepath.Dir(root), name); ok {
			if installed, err := readPackageJSON(filepath.Join(dir, "package.json")); err == nil {
				version = installed.Version
			}
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: name, Version: version})
	}
	return deps, nil
}
