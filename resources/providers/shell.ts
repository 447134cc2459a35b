/**
 * Thin dynamic-provider shells.
 *
 * Pulumi serializes a dynamic provider's methods into the state at `up` and runs that serialized code at
 * `destroy`. To keep what is serialized tiny (and to make a fixed bug fixed for `destroy` too), each method
 * here only loads the provider implementation at call time and forwards the call. The only captured value is the
 * implementation's name: the serialized text is the same on every machine and in every folder, so state shared by
 * a team (an S3 backend) never sees a provider change because somebody else ran `up`.
 *
 * The implementation is found by module resolution, as the package's own subpath export
 * `winpe-lab/providers/<name>` (package.json `exports`, the compiled `dist/resources/providers/<name>.js`), resolved
 * from the program's folder: the engine starts the provider process there, the folder the program itself imported
 * `winpe-lab` from. In a user's project that is `node_modules/winpe-lab`; inside this checkout (and the scratch
 * programs tests write under it) Node's package self-reference resolves the name to the checkout itself.
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
 * A dynamic provider whose methods load `winpe-lab/providers/<implName>` at call time (see above).
 */
export function providerShell(implName: string): pulumi.dynamic.ResourceProvider {
  // Everything below is serialized: keep it free of captured objects other than the string implName.
  const load = (): ProviderImpl => {
    const nodeModule = require("node:module");
    const nodePath = require("node:path");
    const spec = `winpe-lab/providers/${implName}`;
    // resolve as a module of the program's folder would (the provider process runs there): its node_modules, or
    // the package itself when the folder lies inside it (self-reference needs a requiring file, hence the name)
    const from = nodePath.join(process.cwd(), "winpe-lab-provider.js");
    try {
      return nodeModule.createRequire(from)(spec);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code !== "MODULE_NOT_FOUND" || !String(err.message).includes(spec)) throw e;
      throw new Error(
        `winpe-lab: cannot load the provider '${spec}' from ${process.cwd()}: install winpe-lab in this Pulumi ` +
          "project (npm install winpe-lab); inside a winpe-lab checkout, run 'npm run setup' (it builds dist/)",
      );
    }
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
