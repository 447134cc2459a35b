/**
 * Progress and notices from provider code, shown by `pulumi up`.
 *
 * Inside the dynamic-provider process (started by the engine with the engine's address as its first
 * argument) messages go to the engine's Log service, so `pulumi up` prints them while a step runs. Elsewhere
 * (CLI, tests) they go to stderr. Messages must never contain secrets.
 */

type Severity = "info" | "warning";

let engineClient: { log: (req: unknown, cb: (err: unknown) => void) => void } | null | undefined;
let logProto: {
  LogRequest: new () => {
    setSeverity(s: number): void;
    setMessage(m: string): void;
    setUrn(u: string): void;
    setEphemeral(e: boolean): void;
  };
  LogSeverity: Record<string, number>;
};

function engine(): typeof engineClient {
  if (engineClient !== undefined) return engineClient;
  engineClient = null;
  const inProvider = process.argv.some((a) => a.includes("dynamic-provider"));
  const addr = process.argv[2];
  if (!inProvider || !addr || !/^[\w.\-[\]:]+:\d+$/.test(addr)) return engineClient;
  try {
    const grpc = require("@grpc/grpc-js");
    const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb.js");
    logProto = require("@pulumi/pulumi/proto/engine_pb.js");
    engineClient = new engrpc.EngineClient(addr, grpc.credentials.createInsecure());
  } catch {
    engineClient = null;
  }
  return engineClient;
}

/** Where messages go when there is no engine (tests can capture them). */
let fallback: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

export function setProgressFallback(fn: (line: string) => void): void {
  fallback = fn;
}

/** Report a line of progress (or a notice) for `who` (a resource or step name). */
export function report(who: string, message: string, severity: Severity = "info", ephemeral = false): Promise<void> {
  const text = `[${who}] ${message}`;
  const client = engine();
  if (!client) {
    fallback(text);
    return Promise.resolve();
  }
  const req = new logProto.LogRequest();
  req.setSeverity(severity === "warning" ? logProto.LogSeverity.WARNING : logProto.LogSeverity.INFO);
  req.setMessage(text);
  req.setUrn("");
  req.setEphemeral(ephemeral);
  return new Promise((resolve) => client.log(req, () => resolve()));
}

/**
 * A throttled progress callback for a long step: passes at most one line per `intervalMs` (and every line
 * that looks like an error) to {@link report}, as ephemeral status messages.
 */
export function progressReporter(who: string, intervalMs = 2000): (line: string) => void {
  let last = 0;
  return (line: string) => {
    const now = Date.now();
    if (now - last < intervalMs && !/error|warning/i.test(line)) return;
    last = now;
    void report(who, line.trim(), "info", true);
  };
}
