/**
 * `winpe bcd <bcdedit arguments>`: bcdedit's syntax for BCD store files, on any host.
 *
 *   /store <file>                              the store to work on (required: there is no system store here)
 *   /enum [active|all|bootmgr|osloader|inherit|device|<id>] [/v]
 *   /set <id> <element> <value...>             on/off, yes/no, true/false, numbers (0x hex), strings, {ids}, IPv4
 *   /deletevalue <id> <element>
 *   /dbgsettings [net hostip:<ip> port:<n> [key:<k>|newkey] [nodhcp] [busparams:<b.d.f>] | serial ... ]
 *   /default <id>   /timeout <seconds>   /debug <id> on|off   /bootdebug <id> on|off
 *   /createstore <file>
 *
 * Options are case-insensitive and may start with `/` or `-`. Exit 0 on success; on error one line on stderr,
 * exit 1 (2 for a usage error), and the store file is left untouched.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import {
  BcdError,
  type BcdStore,
  createEmptyStore,
  KDNET_KEY_RE,
  ObjectType,
  openStore,
  WELL_KNOWN_OBJECTS,
} from "../formats/bcd/index";
import { RegfError } from "../formats/regf/index";
import { WinpeError } from "../runtime/errors";

const OK = "The operation completed successfully.";

class UsageError extends WinpeError {}

const USAGE = [
  "usage: winpe bcd /store <file> <command>",
  "  /enum [active|all|bootmgr|osloader|inherit|device|<id>] [/v]",
  "  /set <id> <element> <value>          e.g. /set {default} testsigning on",
  "  /deletevalue <id> <element>",
  "  /dbgsettings net hostip:<ip> port:<n> [key:<a.b.c.d>|newkey] [nodhcp] [busparams:<b.d.f>]",
  "  /dbgsettings serial [debugport:<n>] [baudrate:<n>]",
  "  /default <id>   /timeout <seconds>   /debug <id> on|off   /bootdebug <id> on|off",
  "  winpe bcd /createstore <file>",
  "ids: {bootmgr} {default} {dbgsettings} {globalsettings} {bootloadersettings} {ramdiskoptions} ... or {guid}",
].join("\n");

function isOption(a: string): boolean {
  return /^[/-][a-z?]+$/i.test(a);
}

function opt(a: string): string {
  return a.slice(1).toLowerCase();
}

/** A random debugging key in bcdedit's format: four dot-separated base-36 words of 64 random bits each. */
export function newDebugKey(): string {
  const words: string[] = [];
  for (let i = 0; i < 4; i++) words.push(crypto.randomBytes(8).readBigUInt64LE().toString(36));
  return words.join(".");
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

/** Run `winpe bcd` with `args`; resolves with the exit code. */
export async function run(args: string[]): Promise<number> {
  try {
    return execute(args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`winpe bcd: ${oneLine(e.message)} (winpe bcd /? for help)`);
      return 2;
    }
    console.error(`winpe bcd: ${oneLine(describeError(e))}`);
    return 1;
  }
}

function describeError(e: unknown): string {
  if (e instanceof BcdError || e instanceof RegfError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === "ENOENT") return `cannot open ${err.path ?? "the store"}: no such file`;
  if (err?.code === "EACCES" || err?.code === "EPERM")
    return `cannot write ${err.path ?? "the store"}: permission denied`;
  if (err?.code === "EISDIR") return `${err.path ?? "the store"} is a folder, not a store file`;
  return err?.message ?? String(e);
}

function execute(argv: string[]): number {
  if (argv.length === 0 || argv.some((a) => a === "/?" || a === "-?" || a === "--help")) {
    console.log(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  // pull out /store <file> and /v wherever they are
  let store: string | undefined;
  let verbose = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (isOption(a) && opt(a) === "store") {
      if (store !== undefined) throw new UsageError("/store given twice");
      store = argv[++i];
      if (store === undefined || store.length === 0) throw new UsageError("/store needs a file name");
    } else if (isOption(a) && opt(a) === "v") verbose = true;
    else rest.push(a);
  }
  const [cmd, ...params] = rest;
  if (!cmd || !isOption(cmd))
    throw new UsageError(cmd ? `'${cmd}' is not a command; commands start with /` : "no command given");
  const name = opt(cmd);
  if (name === "createstore") {
    if (params.length !== 1) throw new UsageError("/createstore takes one file name");
    if (store !== undefined) throw new UsageError("/createstore names its file itself; drop /store");
    createEmptyStore(params[0]);
    console.log(OK);
    return 0;
  }
  const known = ["enum", "set", "deletevalue", "dbgsettings", "default", "timeout", "debug", "bootdebug"];
  if (!known.includes(name))
    throw new UsageError(
      `'${cmd}' is not supported here; supported: /createstore, ${known.map((k) => `/${k}`).join(", ")}`,
    );
  if (store === undefined) throw new UsageError(`${cmd} needs /store <file>: there is no system store on this host`);
  if (!fs.existsSync(store)) throw new BcdError(`cannot open the store ${store}: no such file`);
  const s = openStore(store);
  switch (name) {
    case "enum":
      return cmdEnum(s, params, verbose);
    case "set": {
      if (params.length < 3) throw new UsageError("/set needs <id> <element> <value>");
      const [id, element, ...value] = params;
      s.setElementText(id, element, value);
      s.save();
      console.log(OK);
      return 0;
    }
    case "deletevalue": {
      if (params.length !== 2) throw new UsageError("/deletevalue needs <id> <element>");
      const [id, element] = params;
      if (!s.deleteElement(id, element))
        throw new BcdError(`${element}: the element is not set on ${id} (element not found); nothing changed`);
      s.save();
      console.log(OK);
      return 0;
    }
    case "default":
      if (params.length !== 1) throw new UsageError("/default needs <id>");
      s.setElementText(WELL_KNOWN_OBJECTS.bootmgr, "default", [s.resolve(params[0])]);
      s.save();
      console.log(OK);
      return 0;
    case "timeout":
      if (params.length !== 1) throw new UsageError("/timeout needs <seconds>");
      s.setElementText(WELL_KNOWN_OBJECTS.bootmgr, "timeout", params);
      s.save();
      console.log(OK);
      return 0;
    case "debug":
    case "bootdebug": {
      if (params.length !== 2)
        throw new UsageError(`/${name} needs <id> on|off (there is no {current} in a store file)`);
      const [id, onoff] = params;
      const element = name === "debug" ? "debug" : "bootdebug";
      s.setElementText(id, element, [onoff]);
      s.save();
      console.log(OK);
      return 0;
    }
    case "dbgsettings":
      return cmdDbgSettings(s, params, verbose);
  }
  return 0;
}

function objectRank(type: number | undefined, id: string): number {
  if (type === ObjectType.FWBOOTMGR) return 0;
  if (id === WELL_KNOWN_OBJECTS.bootmgr || type === ObjectType.BOOTMGR) return 1;
  if (type !== undefined && type >>> 28 === 1) return 2;
  if (type !== undefined && type >>> 28 === 2) return 3;
  if (type !== undefined && type >>> 28 === 3) return 4;
  return 5;
}

function cmdEnum(s: BcdStore, params: string[], verbose: boolean): number {
  if (params.length > 1) throw new UsageError("/enum takes at most one type or identifier");
  const what = (params[0] ?? "active").toLowerCase();
  const objects = s.listObjects();
  const sorted = [...objects].sort(
    (a, b) => objectRank(a.type, a.id) - objectRank(b.type, b.id) || (a.id < b.id ? -1 : 1),
  );
  let ids: string[];
  switch (what) {
    case "active": {
      ids = [];
      const bootmgr = WELL_KNOWN_OBJECTS.bootmgr;
      if (s.hasObject(bootmgr)) {
        ids.push(bootmgr);
        const order = s.getElement(bootmgr, "displayorder")?.value;
        if (Array.isArray(order))
          for (const g of order) {
            const id = String(g).toLowerCase();
            if (s.hasObject(id) && !ids.includes(id)) ids.push(id);
          }
      }
      break;
    }
    case "all":
      ids = sorted.map((o) => o.id);
      break;
    case "bootmgr":
      ids = sorted.filter((o) => o.type === ObjectType.BOOTMGR).map((o) => o.id);
      break;
    case "firmware":
      ids = sorted.filter((o) => o.type === ObjectType.FWBOOTMGR).map((o) => o.id);
      break;
    case "osloader":
      ids = sorted.filter((o) => o.type === ObjectType.OSLOADER).map((o) => o.id);
      break;
    case "resume":
      ids = sorted.filter((o) => o.type === ObjectType.RESUME).map((o) => o.id);
      break;
    case "bootapp":
      ids = sorted.filter((o) => o.type !== undefined && o.type >>> 20 === 0x102).map((o) => o.id);
      break;
    case "inherit":
      ids = sorted.filter((o) => o.type !== undefined && o.type >>> 28 === 2).map((o) => o.id);
      break;
    case "device":
      ids = sorted.filter((o) => o.type !== undefined && o.type >>> 28 === 3).map((o) => o.id);
      break;
    default:
      if (!params[0].startsWith("{"))
        throw new UsageError(
          `/enum: '${params[0]}' is neither a type (active, all, bootmgr, osloader, resume, inherit, device) nor an {identifier}`,
        );
      ids = [s.resolve(params[0])];
  }
  const text = s.formatObjects(ids, { verbose });
  console.log(text.length > 0 ? `\n${text}` : "There are no matching objects.");
  return 0;
}

function cmdDbgSettings(s: BcdStore, params: string[], verbose: boolean): number {
  const dbg = WELL_KNOWN_OBJECTS.dbgsettings;
  if (params.length === 0) {
    if (!s.hasObject(dbg))
      throw new BcdError("the store has no {dbgsettings} object; set one with /dbgsettings net ... or serial ...");
    const lines = s
      .formatObjects([dbg], { verbose })
      .split("\n")
      .slice(verbose ? 2 : 3); // bcdedit prints the elements only
    console.log(lines.join("\n"));
    return 0;
  }
  const [type, ...opts] = params;
  const kv = new Map<string, string>();
  const flags = new Set<string>();
  for (const o of opts) {
    const m = o.match(/^([a-z]+):(.*)$/i);
    if (m) {
      const k = m[1].toLowerCase();
      if (kv.has(k)) throw new UsageError(`/dbgsettings: ${k} given twice`);
      kv.set(k, m[2]);
    } else flags.add(o.toLowerCase());
  }
  const allow = (keys: string[], fl: string[]) => {
    for (const k of kv.keys())
      if (!keys.includes(k))
        throw new UsageError(
          `/dbgsettings ${type}: '${k}:' does not apply (use ${keys.map((x) => `${x}:`).join(" ")})`,
        );
    for (const f of flags)
      if (!fl.includes(f)) throw new UsageError(`/dbgsettings ${type}: '${f}' is not an option here`);
  };
  if (!s.hasObject(dbg)) s.createObject(dbg, ObjectType.INHERIT_ANY);
  let printKey: string | undefined;
  switch (type.toLowerCase()) {
    case "net": {
      allow(["hostip", "port", "key", "busparams"], ["newkey", "nodhcp"]);
      const hostip = kv.get("hostip");
      const port = kv.get("port");
      if (!hostip || !port) throw new UsageError("/dbgsettings net needs hostip:<ipv4> and port:<n>");
      const portNum = /^\d+$/.test(port) ? Number(port) : Number.NaN;
      if (!(portNum >= 49152 && portNum <= 65535))
        throw new BcdError(`port:${port}: the port must be a number from 49152 to 65535`);
      if (kv.has("key") && flags.has("newkey"))
        throw new UsageError("/dbgsettings net: give key:<k> or newkey, not both");
      s.setElementText(dbg, "debugtype", ["net"]);
      s.setElementText(dbg, "hostip", [hostip]);
      s.setElementText(dbg, "port", [port]);
      s.setElement(dbg, "dhcp", !flags.has("nodhcp"));
      const busparams = kv.get("busparams");
      if (busparams !== undefined) {
        if (!/^\d+\.\d+\.\d+$/.test(busparams))
          throw new BcdError(`busparams:${busparams}: use bus.device.function in decimal (e.g. 0.25.0)`);
        s.setElement(dbg, "busparams", busparams);
      }
      const key = kv.get("key");
      if (key !== undefined) {
        if (!KDNET_KEY_RE.test(key))
          throw new BcdError(
            `key:${key}: a key is four dot-separated words of letters and digits (a.b.c.d), each at most 13 long`,
          );
        s.setElement(dbg, "key", key.toLowerCase());
      } else if (flags.has("newkey") || !s.getElement(dbg, "key")) {
        printKey = newDebugKey();
        s.setElement(dbg, "key", printKey);
      }
      break;
    }
    case "serial": {
      allow(["debugport", "baudrate"], []);
      s.setElementText(dbg, "debugtype", ["serial"]);
      s.setElementText(dbg, "debugport", [kv.get("debugport") ?? "1"]);
      s.setElementText(dbg, "baudrate", [kv.get("baudrate") ?? "115200"]);
      break;
    }
    case "1394": {
      allow(["channel"], []);
      s.setElementText(dbg, "debugtype", ["1394"]);
      if (kv.has("channel")) s.setElementText(dbg, "channel", [kv.get("channel")!]);
      break;
    }
    case "usb": {
      allow(["targetname"], []);
      s.setElementText(dbg, "debugtype", ["usb"]);
      if (kv.has("targetname")) s.setElement(dbg, "targetname", kv.get("targetname")!);
      break;
    }
    case "local":
      allow([], []);
      s.setElementText(dbg, "debugtype", ["local"]);
      break;
    default:
      throw new UsageError(`/dbgsettings: '${type}' is not a debugger type (net, serial, 1394, usb, local)`);
  }
  s.save();
  if (printKey) console.log(`Key=${printKey}`);
  else console.log(OK);
  return 0;
}
