// Drives OpenClaw's own acpx plugin (the runtime backend that spawns the
// command named by plugins.entries.acpx.config.command) against an acpx
// binary, the way OpenClaw's gateway does: the plugin's register() and
// service start (version/--help probes), then ensureSession, turns,
// status, set mode, cancel of a long turn, close, and a turn after close.
//
//   node openclaw-plugin.mjs OPENCLAW_DIR ACPX CWD TTL
//
// Prints one JSON line per step: {"step", "ok", ...what the plugin
// returned, normalised}; the caller asserts on them and diffs the lines
// of two binaries. Exit 0 when every step ran (a step may fail: "ok":false
// with the plugin's error code and message is a result, not a crash).

import { readFileSync } from "node:fs";
import path from "node:path";

const [ocDir, acpx, cwd, ttl, rec] = process.argv.slice(2);
if (!ocDir || !acpx || !cwd || !ttl) {
	console.error("usage: openclaw-plugin.mjs OPENCLAW_DIR ACPX CWD TTL");
	process.exit(2);
}

const plugin = (await import(path.join(ocDir, "dist/extensions/acpx/index.js"))).default;
const logs = [];
const logger = {
	info: (m) => logs.push(`info ${m}`),
	warn: (m) => logs.push(`warn ${m}`),
	error: (m) => logs.push(`error ${m}`),
	debug: () => {},
};

let service = null;
plugin.register({
	pluginConfig: {
		command: acpx,
		expectedVersion: "any",
		cwd,
		permissionMode: "approve-all",
		nonInteractivePermissions: "fail",
		queueOwnerTtlSeconds: Number(ttl),
	},
	registerService: (s) => { service = s; },
	logger,
});
if (!service) {
	console.error("plugin registered no service");
	process.exit(1);
}
await service.start({ workspaceDir: cwd, logger });

const registry = globalThis[Symbol.for("openclaw.acpRuntimeRegistryState")];
const backend = registry?.backendsById?.get("acpx");
if (!backend) {
	console.error("plugin registered no acpx runtime backend");
	process.exit(1);
}
const runtime = backend.runtime;

// The service probes in the background: wait until it says healthy.
for (let i = 0; i < 2400 && !backend.healthy(); i++)
	await new Promise((r) => setTimeout(r, 50));

function emit(step, obj) {
	process.stdout.write(JSON.stringify({ step, ...obj }) + "\n");
}

function failure(err) {
	return {
		ok: false,
		code: err?.code ?? null,
		message: String(err?.message ?? err).split("\n")[0],
	};
}

// One turn: the events the plugin yields, as "type:text" strings.
async function turn(step, handle, text, opts = {}) {
	const events = [];
	try {
		const it = runtime.runTurn({
			handle,
			text,
			mode: "prompt",
			requestId: step,
			signal: opts.signal,
		});
		for await (const ev of it) {
			const t = ev.type === "text_delta" ? `text:${ev.text}`
			    : ev.type === "done" || ev.type === "error"
				? `${ev.type}:${JSON.stringify({ ...ev, type: undefined })}`
			    : ev.type === "status" ? null
			    : ev.type;
			if (t !== null)
				events.push(t);
			if (opts.onEvent)
				opts.onEvent(ev);
		}
		emit(step, { ok: true, events });
	} catch (err) {
		emit(step, { ...failure(err), events });
	}
}

emit("healthy", { ok: backend.healthy() });

let handle;
try {
	handle = await runtime.ensureSession({
		sessionKey: "agent:mock:oc-plugin",
		agent: "mock",
		mode: "persistent",
		cwd,
	});
	emit("ensure", {
		ok: true,
		backend: handle.backend,
		hasRecordId: typeof handle.acpxRecordId === "string",
		hasBackendSessionId: typeof handle.backendSessionId === "string",
	});
} catch (err) {
	emit("ensure", failure(err));
	process.exit(0);
}

// Two turns back to back (with a short TTL the reference races here).
await turn("turn-1", handle, "echo first turn");
await turn("turn-2", handle, "echo second turn");

const ensureAgain = await runtime.ensureSession({
	sessionKey: "agent:mock:oc-plugin",
	agent: "mock",
	mode: "persistent",
	cwd,
}).then((h) => ({ ok: true, sameRecord: h.acpxRecordId === handle.acpxRecordId }),
    failure);
emit("ensure-again", ensureAgain);

try {
	const st = await runtime.getStatus({ handle });
	emit("status", {
		ok: true,
		status: st.details?.status ?? null,
		sameRecord: st.acpxRecordId === handle.acpxRecordId,
		summaryStarts: String(st.summary).split(" ")[0].replace(/=.*/, "="),
	});
} catch (err) {
	emit("status", failure(err));
}

try {
	await runtime.setMode({ handle, mode: "plan" });
	emit("set-mode", { ok: true });
} catch (err) {
	emit("set-mode", failure(err));
}

try {
	await runtime.setConfigOption({ handle, key: "mode", value: "plan" });
	emit("set-config", { ok: true });
} catch (err) {
	emit("set-config", failure(err));
}

// A long turn, cancelled through the plugin while it runs: cancel is
// repeated until the turn ends (a cancel before the prompt reached the
// agent finds nothing to cancel), so no timing is assumed.
let finished = false, cancels = 0, cancelErr = null;
const long = turn("turn-long", handle, "sleep 60000").then(() => { finished = true; });
// Cancel once the agent has the prompt (the mock agent's record shows it):
// a cancel that comes earlier, on a slow machine, ends the turn before the
// agent sees it. The ceiling (120 s) only bounds a hang.
for (let i = 0; rec && i < 2400 && !finished; i++) {
	let seen = false;
	try { seen = readFileSync(rec, "utf8").includes("sleep 60000"); } catch {}
	if (seen)
		break;
	await new Promise((r) => setTimeout(r, 50));
}
while (!finished && cancels < 400) {
	await new Promise((r) => setTimeout(r, 300));
	if (finished)
		break;
	cancels++;
	await runtime.cancel({ handle, reason: "test" }).catch((err) => { cancelErr = err; });
}
await long;
emit("cancel", { ok: cancels > 0 && cancelErr === null,
    error: cancelErr ? failure(cancelErr).code : null });

await turn("turn-after-cancel", handle, "echo still here");

try {
	await runtime.close({ handle, reason: "test" });
	emit("close", { ok: true });
} catch (err) {
	emit("close", failure(err));
}

await turn("turn-after-close", handle, "echo after close");

try {
	const st = await runtime.getStatus({ handle });
	emit("status-after-close", { ok: true, status: st.details?.status ?? null });
} catch (err) {
	emit("status-after-close", failure(err));
}

await service.stop({ workspaceDir: cwd, logger });
process.exit(0);
