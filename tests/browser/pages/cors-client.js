// Called by runner.mjs through page.evaluate: one fetch() from this page's origin, reporting
// what a script on this page can see. A CORS failure is a TypeError with no detail (by design
// of Fetch); the reason comes from DevTools (Network.loadingFailed) in the runner.
window.corsFetch = async (spec) => {
  const init = {
    method: spec.method || "GET",
    headers: spec.headers || {},
    credentials: spec.credentials || "same-origin",
  };
  // Not cache: "no-store": Chromium then also bypasses its preflight cache (Max-Age case).
  if (spec.cache) init.cache = spec.cache;
  if (spec.body !== undefined) init.body = spec.body;
  try {
    const response = await fetch(spec.url, init);
    const headers = {};
    for (const name of spec.read_headers || []) headers[name] = response.headers.get(name);
    return { readable: true, status: response.status, headers, body: await response.text() };
  } catch (error) {
    return { readable: false, error: String(error) };
  }
};
