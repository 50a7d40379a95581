// Called by runner.mjs through evaluate(): one step from this page's origin, reporting what a
// script on this page can see. A CORS failure carries no detail to the script (by design of
// Fetch); the browser's own reason comes from outside the page (runner.mjs: Chromium's DevTools
// corsErrorStatus, Firefox's console message).
(() => {
  const settle = (promise, ms) =>
    Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve({ timeout: true }), ms))]);

  // fetch(): spec {url, method, headers, credentials, body, stream, read_headers}.
  async function doFetch(spec) {
    const init = {
      method: spec.method || "GET",
      headers: spec.headers || {},
      credentials: spec.credentials || "same-origin",
    };
    if (spec.stream) {
      // A request body the page produces as it goes: a ReadableStream (Fetch's "duplex: half").
      const text = spec.body;
      init.body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(text));
          controller.close();
        },
      });
      init.duplex = "half";
    } else if (spec.body !== undefined) {
      init.body = spec.body;
    }
    try {
      const response = await fetch(spec.url, init);
      const headers = {};
      for (const name of spec.read_headers || []) headers[name] = response.headers.get(name);
      return { readable: true, status: response.status, headers, body: await response.text() };
    } catch (error) {
      return { readable: false, error: String(error) };
    }
  }

  // XMLHttpRequest POST of a text/plain body; with `upload_listener`, a progress listener on
  // xhr.upload, which makes the request preflighted (Fetch, "CORS-preflight fetch": the
  // use-CORS-preflight flag is set when upload listeners are registered).
  function doXhr(spec) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      let progress = 0;
      xhr.open(spec.method || "POST", spec.url);
      if (spec.upload_listener) xhr.upload.addEventListener("progress", () => progress++);
      xhr.onload = () => resolve({ readable: true, status: xhr.status, body: xhr.responseText, progress });
      xhr.onerror = () => resolve({ readable: false, error: "XMLHttpRequest error event" });
      xhr.send(spec.body || "");
    });
  }

  // An @font-face font from `url`: the width of a test string in it, against the fallback.
  async function doFont(spec) {
    const family = `EdgeCors${Math.random().toString(36).slice(2)}`;
    const style = document.createElement("style");
    style.textContent = `@font-face { font-family: "${family}"; src: url("${spec.url}"); }`;
    document.head.appendChild(style);
    const span = (fontFamily) => {
      const el = document.createElement("span");
      el.style.font = `40px ${fontFamily}`;
      el.style.whiteSpace = "nowrap";
      el.textContent = "xxxx";
      document.body.appendChild(el);
      return el;
    };
    const fallback = span("monospace");
    const tested = span(`"${family}", monospace`);
    try {
      await document.fonts.load(`40px "${family}"`);
    } catch (error) {
      // A failed font load rejects in some browsers: the status below tells.
    }
    await document.fonts.ready;
    const face = [...document.fonts].find((f) => f.family.replace(/"/g, "") === family);
    return {
      readable: face ? face.status === "loaded" : false,
      status_text: face ? face.status : "no FontFace",
      width: Math.round(tested.getBoundingClientRect().width),
      fallback_width: Math.round(fallback.getBoundingClientRect().width),
    };
  }

  function loadImage(url, crossOrigin) {
    return new Promise((resolve) => {
      const img = new Image();
      if (crossOrigin) img.crossOrigin = crossOrigin;
      img.onload = () => resolve(img);
      img.onerror = () => resolve(null);
      img.src = url;
    });
  }

  // The first pixel of the image through WebGL: the image as a texture, read back through a
  // framebuffer. Returns null when the browser has no WebGL.
  function webglPixel(img) {
    const gl = document.createElement("canvas").getContext("webgl");
    if (!gl) return { available: false };
    try {
      const texture = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, img);
      const fb = gl.createFramebuffer();
      gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
      const pixel = new Uint8Array(4);
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
      return { available: true, pixel: [...pixel] };
    } catch (error) {
      return { available: true, error: error.name };
    }
  }

  // An <img> (with `crossorigin` when spec.crossorigin is set) drawn to a 2D canvas and, where
  // the browser has WebGL, used as a texture: what a script can read back.
  async function doImage(spec) {
    const img = await loadImage(spec.url, spec.crossorigin);
    if (!img) return { readable: false, error: "image error event" };
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const out = { readable: true, loaded: true };
    try {
      out.canvas_pixel = [...ctx.getImageData(0, 0, 1, 1).data];
    } catch (error) {
      out.canvas_error = error.name;
    }
    out.webgl = webglPixel(img);
    return out;
  }

  // The Socket.IO client (served from node_modules by the page server): connect, wait for the
  // server's `welcome`, for the upgrade to WebSocket unless the transports exclude it, send a
  // `ping` and read the `pong`.
  async function doSocketIo(spec) {
    const socket = window.io(spec.url, {
      path: "/socket.io/",
      withCredentials: !!spec.credentials,
      transports: spec.transports || ["polling", "websocket"],
      query: { case: spec.case },
      reconnection: false,
      timeout: 5000,
    });
    const out = { readable: false, transports: [] };
    // The server emits `welcome` from its connect handler, which the client may deliver before
    // its own `connect` event: listen from the start.
    const welcome = new Promise((resolve) => socket.once("welcome", resolve));
    try {
      const connected = await settle(
        new Promise((resolve) => {
          socket.on("connect", () => resolve({ ok: true }));
          socket.on("connect_error", (error) => resolve({ ok: false, error: String(error && error.message) }));
        }),
        8000,
      );
      if (!connected.ok) return { ...out, error: connected.error || "no connect within 8 s" };
      out.readable = true;
      // The transport the server saw the connection open on (its `welcome`), then the one the
      // client ends on once Engine.IO has upgraded (which may already have happened).
      out.welcome = await settle(welcome, 5000);
      const transports = spec.transports || ["polling", "websocket"];
      if (transports.includes("websocket") && socket.io.engine.transport.name !== "websocket") {
        const upgraded = await settle(new Promise((resolve) => socket.io.engine.once("upgrade", resolve)), 5000);
        if (upgraded && upgraded.timeout) out.upgrade_error = "no upgrade within 5 s";
      }
      out.transports = [(out.welcome || {}).transport, socket.io.engine.transport.name];
      out.pong = await settle(socket.timeout(5000).emitWithAck("ping", "hello from the page"), 6000);
      return out;
    } catch (error) {
      return { ...out, error: String(error) };
    } finally {
      socket.close();
    }
  }

  // A raw WebSocket (no library): open, send one message, read the echo.
  function doWebSocket(spec) {
    return new Promise((resolve) => {
      const ws = new WebSocket(spec.url);
      const out = { readable: false };
      const timer = setTimeout(() => {
        ws.close();
        resolve({ ...out, error: "timeout" });
      }, 8000);
      ws.onopen = () => {
        out.opened = true;
        ws.send("hello");
      };
      ws.onmessage = (event) => {
        out.readable = true;
        out.body = event.data;
        ws.close();
      };
      ws.onerror = () => {
        out.error = "WebSocket error event";
      };
      ws.onclose = (event) => {
        clearTimeout(timer);
        resolve({ ...out, close_code: event.code });
      };
    });
  }

  const kinds = { fetch: doFetch, xhr: doXhr, font: doFont, image: doImage, socketio: doSocketIo, websocket: doWebSocket };
  window.corsStep = (spec) => kinds[spec.kind || "fetch"](spec);
})();
