/**
 * Progress and notices of long steps. Where they go is set by the face that runs the step: inside a Pulumi
 * dynamic-provider process, resources/providers/engine-log.ts sends them to the engine's log (so `pulumi up` prints
 * them while a step runs); elsewhere (CLI, tests) they go to stderr or to what a test installs. Messages must never
 * contain secrets. No Pulumi here.
 */

export type Severity = "info" | "warning";

/** Where report() sends a line (the engine's log in a provider process); none: the fallback (stderr). */
export type ProgressSink = (text: string, severity: Severity, ephemeral: boolean) => Promise<void>;

let sink: ProgressSink | undefined;

/** Send every report to `s` (or back to the fallback with undefined). */
export function setProgressSink(s: ProgressSink | undefined): void {
  sink = s;
}

/** Where messages go when there is no engine (tests can capture them). */
let fallback: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

export function setProgressFallback(fn: (line: string) => void): void {
  fallback = fn;
}

/** Report a line of progress (or a notice) for `who` (a resource or step name). */
export function report(who: string, message: string, severity: Severity = "info", ephemeral = false): Promise<void> {
  const text = `[${who}] ${message}`;
  if (sink) return sink(text, severity, ephemeral);
  fallback(text);
  return Promise.resolve();
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
