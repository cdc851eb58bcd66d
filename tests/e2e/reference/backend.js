// The reference for the app at 10,000 items (tests/e2e/bench_queue.py): the same ui/dist opened
// as a web page in Chromium, with the Rust side's answers recorded from the real app and replayed
// here. Each answer is fetched over loopback and parsed at every call, as the webview receives
// the IPC's answer and parses it, so the page does the same work on the same data. Loaded before
// the UI's bundle by browser_reference.py; never shipped.
(() => {
  const request = new XMLHttpRequest();
  request.open("GET", "/recorded.json", false);
  request.send();
  /** "command args" (the arguments as JSON) -> where the answer the real app gave is served. */
  const recorded = JSON.parse(request.responseText);
  let nextId = 1;
  const callbacks = new Map();
  window.isTauri = true;
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener() {} };
  window.__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
    plugins: {},
    transformCallback(callback) {
      const id = nextId++;
      callbacks.set(id, callback);
      return id;
    },
    unregisterCallback(id) {
      callbacks.delete(id);
    },
    convertFileSrc(path) {
      return path;
    },
    invoke(command, args) {
      // No events are replayed: the queue is the snapshot, at rest.
      if (command === "plugin:event|listen") return Promise.resolve(nextId++);
      if (command === "plugin:event|unlisten") return Promise.resolve(null);
      const key = `${command} ${JSON.stringify(args ?? {})}`;
      if (key in recorded) return fetch(recorded[key]).then((response) => response.json());
      return Promise.reject({ code: "reference_unrecorded", message: `not recorded: ${key}` });
    },
  };
})();
