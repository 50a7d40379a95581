// Drives one browser through puppeteer-core: Debian's Chromium over the DevTools protocol, or
// Debian's Firefox ESR over WebDriver BiDi (never a downloaded browser).
//
//   node runner.mjs SPEC.json   -> prints a JSON object {browser, version, seconds, results} on stdout
//
// SPEC: {browser: "chromium" | "firefox", executable, host_resolver_rules, concurrency,
//        cases: [{name, page_url, frame_path, steps: [step spec for pages/cors-client.js]}]}.
// One browser process; every case runs in a fresh browser context (its own cookie jar and
// preflight cache), `concurrency` cases at a time. For each step the page reports what a script
// could read; for a step that failed, the browser's own reason is added: Chromium's DevTools
// `Network.loadingFailed` -> corsErrorStatus, or, for what has none (a WebSocket), its console
// error; Firefox's console message ("Cross-Origin Request Blocked: ... (Reason: ...)").
import { readFileSync } from "node:fs";
import puppeteer from "puppeteer-core";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const chromium = spec.browser === "chromium";

async function waitFor(predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function launch() {
  if (chromium) {
    // The flags known to work on a machine with a closed network: without the background-
    // networking ones Chromium keeps opening connections that the network refuses.
    // --enable-unsafe-swiftshader: WebGL on the CPU (there is no GPU); Chromium no longer falls
    // back to it without being asked.
    return puppeteer.launch({
      executablePath: spec.executable,
      headless: true,
      acceptInsecureCerts: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--host-resolver-rules=${spec.host_resolver_rules}`,
      ],
    });
  }
  // Firefox: every host name resolves to 127.0.0.1 (network.dns.forceResolve; no /etc/hosts
  // edit), and HTTPS-First is off so that http:// pages stay http://.
  return puppeteer.launch({
    browser: "firefox",
    executablePath: spec.executable,
    headless: true,
    acceptInsecureCerts: true,
    extraPrefsFirefox: {
      "network.dns.forceResolve": "127.0.0.1",
      "dom.security.https_first": false,
      "dom.security.https_first_pbm": false,
      "dom.security.https_only_mode": false,
    },
  });
}

// Firefox's CORS console message ends with "(Reason: ...)"; that is the reason it names.
function firefoxReason(text) {
  const m = /\(Reason: ([^)]*)\)/.exec(text);
  return m ? m[1] : null;
}

// A fresh context and its page. Firefox sometimes discards the new tab's first browsing
// context while WebDriver BiDi creates it ("no such frame"), when several contexts open at once:
// that is the driver's race, not a result, so it is retried (at most 3 times).
async function freshPage(browser) {
  for (let attempt = 1; ; attempt++) {
    const context = await browser.createBrowserContext();
    try {
      return [context, await context.newPage()];
    } catch (error) {
      await context.close().catch(() => {});
      if (attempt === 3 || !/no such frame/.test(String(error))) throw error;
    }
  }
}

async function runCase(browser, c) {
  const [context, page] = await freshPage(browser);
  try {
    const messages = [];
    const note = (type, text) => messages.push({ type, text });
    page.on("console", (m) => note(m.type(), m.text()));
    page.on("pageerror", (e) => note("pageerror", String(e && e.message ? e.message : e)));
    const failures = [];
    const urls = new Map();
    const watch = async (session) => {
      session.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
      session.on("Network.loadingFailed", (e) =>
        failures.push({
          url: urls.get(e.requestId) || null,
          errorText: e.errorText,
          corsError: e.corsErrorStatus ? e.corsErrorStatus.corsError : null,
          failedParameter: e.corsErrorStatus ? e.corsErrorStatus.failedParameter : null,
        }),
      );
      await session.send("Network.enable");
    };
    if (chromium) await watch(await page.createCDPSession());
    await page.goto(c.page_url);
    // A case may run its steps inside a frame (a sandboxed iframe has an opaque origin).
    let scope = page;
    if (c.frame_path) {
      const frameUrl = new URL(c.frame_path, c.page_url).href;
      const deadline = Date.now() + 10000;
      while (!(scope = page.frames().find((f) => f.url() === frameUrl))) {
        if (Date.now() > deadline) throw new Error(`frame ${frameUrl} never loaded`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (chromium) {
        // Chromium runs a sandboxed frame in a process of its own: its network events come
        // through a DevTools session of that frame's target.
        const target = context.targets().find((t) => t.url() === frameUrl && t.type() !== "page");
        if (target) await watch(await target.createCDPSession());
      }
    }
    await scope.waitForFunction(() => typeof window.corsStep === "function");
    const steps = [];
    for (const s of c.steps) {
      const seenFailures = failures.length;
      const seenMessages = messages.length;
      const r = await scope.evaluate((s) => window.corsStep(s), s);
      if (!r.readable) {
        // The page's view and the browser's reason travel separately: wait (bounded) for the reason.
        const corsFailure = () => failures.slice(seenFailures).find((f) => f.corsError);
        const anyFailure = () => failures.slice(seenFailures)[0];
        const errorMessage = () =>
          messages.slice(seenMessages).find((m) => m.type === "error" || m.type === "pageerror");
        const ffMessage = () => messages.slice(seenMessages).find((m) => firefoxReason(m.text));
        // First any sign of failure, then (briefly) the one that names a CORS reason, which may
        // follow a console error or a network event by a few milliseconds.
        await waitFor(() => (chromium ? anyFailure() : null) || errorMessage(), 5000);
        await waitFor(chromium ? corsFailure : ffMessage, 1000);
        const failure = corsFailure() || anyFailure() || null;
        const message = ffMessage() || errorMessage();
        r.failure = failure;
        // Chromium: the CORS error DevTools names, else the network error (a request it refused
        // to send), else its console error (a WebSocket). Firefox: the reason of its console message.
        r.reason = chromium
          ? failure && failure.corsError
            ? failure.corsError + (failure.failedParameter ? ` (${failure.failedParameter})` : "")
            : failure
              ? failure.errorText
              : message
                ? message.text
                : null
          : message
            ? firefoxReason(message.text) || message.text
            : null;
      }
      r.messages = messages.slice(seenMessages).map((m) => `${m.type}: ${m.text}`);
      steps.push(r);
    }
    return { name: c.name, page_origin: await scope.evaluate(() => self.origin), steps };
  } catch (error) {
    return { name: c.name, error: String(error && error.stack ? error.stack : error), steps: [] };
  } finally {
    await context.close();
  }
}

const started = Date.now();
const browser = await launch();
const version = await browser.version();
const results = new Array(spec.cases.length);
try {
  let next = 0;
  const worker = async () => {
    while (next < spec.cases.length) {
      const i = next++;
      results[i] = await runCase(browser, spec.cases[i]);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency || 1 }, worker));
} finally {
  await browser.close();
}
process.stdout.write(
  JSON.stringify({ browser: spec.browser, version, seconds: (Date.now() - started) / 1000, results }, null, 1),
);
