/**
 * Progress of provider code into `pulumi up`'s output: inside the dynamic-provider process (started by the engine
 * with the engine's address as its first argument) runtime/progress.ts's reports go to the engine's Log service.
 * Installed by resources/providers/kit.ts, which every provider imports.
 */
import { setProgressSink } from "../../runtime/progress";

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

/** In a dynamic-provider process, send progress to the engine's log; elsewhere leave it alone. */
export function installEngineLog(): void {
  const client = engine();
  if (!client) return;
  setProgressSink((text, severity, ephemeral) => {
    const req = new logProto.LogRequest();
    req.setSeverity(severity === "warning" ? logProto.LogSeverity.WARNING : logProto.LogSeverity.INFO);
    req.setMessage(text);
    req.setUrn("");
    req.setEphemeral(ephemeral);
    return new Promise<void>((resolve) => client.log(req, () => resolve()));
  });
}
