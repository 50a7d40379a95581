// Drives Debian's Chromium (never a downloaded browser) through playwright-core.
//
//   node runner.mjs SPEC.json   -> prints a JSON array of results on stdout
//
// SPEC: {chromium, host_resolver_rules, cases: [{name, page_url, fetches: [fetch spec]}]}.
// Every case runs in a fresh browser context (its own cookie jar and preflight cache). For each
// fetch the page reports what a script could read; DevTools' Network.loadingFailed gives the
// CORS reason of every blocked request (corsErrorStatus.corsError).
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));

// The flags known to work on this machine; without the background-networking ones Chromium
// keeps opening connections that the closed network refuses. Playwright adds --headless and
// --no-sandbox (chromiumSandbox: false) itself, and runs every launch in a fresh temporary
// --user-data-dir; a new context per case is a fresh, empty profile on top of that.
const args = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  `--host-resolver-rules=${spec.host_resolver_rules}`,
];

async function waitFor(predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

const browser = await chromium.launch({
  executablePath: spec.chromium,
  headless: true,
  chromiumSandbox: false,
  args,
});
const results = [];
try {
  for (const c of spec.cases) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const urls = new Map();
    const failures = [];
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
    await watch(await context.newCDPSession(page));
    await page.goto(c.page_url);
    // A case may run its fetches inside a frame (a sandboxed iframe has an opaque origin).
    // Chromium isolates sandboxed frames in their own process: their network events come
    // through a CDP session of their own.
    let scope = page;
    if (c.frame_path) {
      const frameUrl = new URL(c.frame_path, c.page_url).href;
      await page.waitForFunction(() => document.querySelector("iframe") !== null);
      const deadline = Date.now() + 5000;
      while (!(scope = page.frames().find((f) => f.url() === frameUrl))) {
        if (Date.now() > deadline) throw new Error(`frame ${frameUrl} never loaded`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await scope.waitForFunction(() => typeof window.corsFetch === "function");
      try {
        await watch(await context.newCDPSession(scope));
      } catch {
        // Same process as the page: the page's session already sees its requests.
      }
    }
    const fetches = [];
    for (const f of c.fetches) {
      const r = await scope.evaluate((f) => window.corsFetch(f), f);
      if (!r.readable) {
        // The rejection and the DevTools event travel separately; wait for the event.
        await waitFor(() => failures.some((x) => x.url === f.url), 5000);
      }
      const failure = failures.find((x) => x.url === f.url) || null;
      fetches.push({ ...r, url: f.url, failure });
    }
    results.push({ name: c.name, page_origin: await scope.evaluate(() => self.origin), fetches });
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results, null, 1));
