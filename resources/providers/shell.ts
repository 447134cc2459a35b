/**
 * Thin dynamic-provider shells.
 *
 * Pulumi serializes a dynamic provider's methods into the state at `up` and runs that serialized code at
 * `destroy`. To keep what is serialized tiny (and to make a fixed bug fixed for `destroy` too), each method
 * here only loads the provider implementation, compiled to JavaScript under `dist/`, at call time and forwards
 * the call. The only captured value is the implementation's module name.
 */
import type * as pulumi from "@pulumi/pulumi";

/** What a provider implementation module under `resources/providers/` exports. */
export interface ProviderImpl {
  check?: (olds: Record<string, unknown>, news: Record<string, unknown>) => Promise<pulumi.dynamic.CheckResult>;
  diff?: (
    id: string,
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
  ) => Promise<pulumi.dynamic.DiffResult>;
  create: (inputs: Record<string, unknown>) => Promise<pulumi.dynamic.CreateResult>;
  read?: (id: string, props: Record<string, unknown>) => Promise<pulumi.dynamic.ReadResult>;
  update?: (
    id: string,
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
  ) => Promise<pulumi.dynamic.UpdateResult>;
  delete?: (id: string, props: Record<string, unknown>) => Promise<void>;
}

/**
 * A dynamic provider whose methods load `dist/resources/providers/<implName>.js` at call time.
 *
 * The project root is found from the environment variable `WINPE_LAB_ROOT` (set by our scripts), else the
 * current directory of the provider process or its parent (the program's folder: the project, or its dist/).
 */
export function providerShell(implName: string): pulumi.dynamic.ResourceProvider {
  // Everything below is serialized: keep it free of captured objects other than the string implName.
  const load = (): ProviderImpl => {
    const nodePath = require("node:path");
    const nodeFs = require("node:fs");
    const rel = nodePath.join("dist", "resources", "providers", `${implName}.js`);
    // the project folder: WINPE_LAB_ROOT (our scripts set it), else the provider's working folder or its parent
    // (the engine starts it in the program's folder, which is dist/ when the program runs as dist/index.js)
    const roots = [process.env.WINPE_LAB_ROOT, process.cwd(), nodePath.dirname(process.cwd())].filter(Boolean);
    const root = roots.find((r: string) => nodeFs.existsSync(nodePath.join(r, rel))) ?? roots[0];
    return require(nodePath.join(root, rel));
  };
  return {
    async check(olds, news) {
      const impl = load();
      return impl.check ? impl.check(olds, news) : { inputs: news };
    },
    async diff(id, olds, news) {
      const impl = load();
      return impl.diff ? impl.diff(id, olds, news) : {};
    },
    async create(inputs) {
      return load().create(inputs);
    },
    async read(id, props) {
      const impl = load();
      return impl.read ? impl.read(id, props ?? {}) : { id, props };
    },
    async update(id, olds, news) {
      const impl = load();
      if (!impl.update) throw new Error(`${implName}: update is not supported`);
      return impl.update(id, olds, news);
    },
    async delete(id, props) {
      const impl = load();
      if (impl.delete) await impl.delete(id, props);
    },
  };
}
