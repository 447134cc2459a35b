/**
 * A real S3-compatible server on loopback for the shared-state tests: gofakes3 (github.com/johannesboyne/gofakes3,
 * built by scripts/build-engine.sh into .tools/bin/gofakes3), its buckets in memory, its request log in
 * `<dir>/server.log`, listening on 127.0.0.1 on a port the kernel picks. Started through runTool (argv, no shell, logged); stopped by
 * aborting that run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runTool } from "../../runtime/exec";
import { TOOLS_BIN } from "./pulumi";

export interface S3Server {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  bucket: string;
  /** The Pulumi backend URL of the bucket (gocloud.dev s3blob URL options). */
  backendUrl: string;
  /** Environment for the engine (static test credentials, no instance metadata, no ~/.aws files). */
  env: Record<string, string>;
  /** Keys in the bucket under `prefix`, sorted. */
  keys(prefix?: string): Promise<string[]>;
  /** An object's text, or undefined when there is none. */
  get(key: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

const xmlUnescape = (s: string) =>
  s
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&apos;", "'")
    .replaceAll("&amp;", "&");

/** Start the server with one (empty) bucket; `dir` holds its log and is the caller's to remove. */
export async function startS3Server(dir: string, bucket = "winpe-lab-state"): Promise<S3Server> {
  const bin = path.join(TOOLS_BIN, "gofakes3");
  if (!fs.existsSync(bin))
    throw new Error(`${bin} is missing: run 'npm run setup' (scripts/build-engine.sh builds it)`);
  fs.mkdirSync(dir, { recursive: true });
  const abort = new AbortController();
  let onPort: (port: number) => void = () => undefined;
  const portSeen = new Promise<number>((resolve) => {
    onPort = resolve;
  });
  const log: string[] = [];
  const run = runTool(
    bin,
    [
      // the memory backend: gofakes3 v1.2.0's bolt backend crashes (SIGSEGV) on CopyObject, which Pulumi uses to
      // keep the previous checkpoint (<stack>.json.bak); the bucket lives as long as the server
      "-host",
      "127.0.0.1:0",
      "-backend",
      "mem",
      "-initialbucket",
      bucket,
    ],
    {
      cwd: dir,
      resource: "test/s3-server",
      signal: abort.signal,
      onLine: (line) => {
        log.push(line);
        fs.appendFileSync(path.join(dir, "server.log"), `${line}\n`);
        const m = /using port: (\d+)/.exec(line);
        if (m) onPort(Number(m[1]));
      },
    },
  );
  const ended = run.then(
    () => "exited",
    (e: Error) => e.message,
  );
  const port = await Promise.race([
    portSeen,
    ended.then((why) => {
      throw new Error(`gofakes3 stopped before listening (${why}): ${log.join(" | ")}`);
    }),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`gofakes3 did not listen within 20 s: ${log.join(" | ")}`)), 20_000),
    ),
  ]);
  const endpoint = `http://127.0.0.1:${port}`;
  const keys = async (prefix = ""): Promise<string[]> => {
    const out: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100; page++) {
      const q = new URLSearchParams({ "list-type": "2", prefix });
      if (token) q.set("continuation-token", token);
      const res = await fetch(`${endpoint}/${bucket}?${q}`);
      const body = await res.text();
      if (!res.ok) throw new Error(`listing ${bucket}: HTTP ${res.status}: ${body}`);
      for (const m of body.matchAll(/<Key>([^<]*)<\/Key>/g)) out.push(xmlUnescape(m[1]!));
      token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(body)?.[1];
      if (!/<IsTruncated>true<\/IsTruncated>/.test(body) || !token) break;
    }
    return out.sort();
  };
  return {
    endpoint,
    bucket,
    // region: any name (the server ignores it; the SDK needs one); use_path_style: the bucket in the path, not
    // in the host name (s3ForcePathStyle=true is the older spelling gocloud.dev still accepts)
    backendUrl: `s3://${bucket}?endpoint=${endpoint}&use_path_style=true&region=us-east-1`,
    env: {
      AWS_ACCESS_KEY_ID: "winpe-lab-test",
      AWS_SECRET_ACCESS_KEY: "winpe-lab-test-secret",
      AWS_REGION: "us-east-1",
      // never ask an instance-metadata address for credentials or a region; never read the user's ~/.aws
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_CONFIG_FILE: path.join(dir, "aws-config-none"),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "aws-credentials-none"),
    },
    keys,
    get: async (key) => {
      const res = await fetch(`${endpoint}/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`);
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`reading ${key}: HTTP ${res.status}`);
      return res.text();
    },
    stop: async () => {
      abort.abort();
      await ended;
    },
  };
}
