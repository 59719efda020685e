// The Models dialog of a page running the engine itself (local.js): pick a GGUF file from disk or give
// a URL; it is copied into the browser's Origin Private File System with a progress bar and loaded.
// Cached models are listed (load, delete); the last one loaded is loaded again on the next visit,
// from OPFS, with no network.
/* global document, localStorage */

const LAST = 'phi3.localModel.v1';
const $ = (id) => document.getElementById(id);

function mib(bytes) {
  return `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;
}

/** Wires the dialog to `engine`; onLoaded(info) runs after each model load. Returns autoload(). */
export function setupModels(engine, onLoaded) {
  const dialog = $('models');
  const progress = $('m-progress');
  const status = $('m-status');
  let busy = false;

  const show = (text, done, total) => {
    status.textContent = text;
    progress.hidden = total === undefined;
    if (total !== undefined) {
      progress.max = total || 1;
      progress.value = done;
    }
  };

  async function refresh() {
    const list = $('m-list');
    list.replaceChildren();
    const models = await engine.call('list');
    $('m-empty').hidden = models.length > 0;
    for (const m of models) {
      const row = document.createElement('li');
      row.className = 'cached';
      const label = document.createElement('span');
      label.textContent = `${m.name} · ${mib(m.size)}`;
      const load = document.createElement('button');
      load.type = 'button';
      load.className = 'primary';
      load.textContent = 'Load';
      load.addEventListener('click', () => void run(() => loadCached(m.name)));
      const del = document.createElement('button');
      del.type = 'button';
      del.className = 'ghost';
      del.textContent = 'Delete';
      del.setAttribute('aria-label', `Delete ${m.name}`);
      del.addEventListener('click', () => void run(async () => {
        await engine.call('delete', { name: m.name });
        if (localStorage.getItem(LAST) === m.name) localStorage.removeItem(LAST);
        show(`Deleted ${m.name}`);
      }));
      row.append(label, load, del);
      list.append(row);
    }
  }

  async function loadCached(name) {
    show(`Loading ${name}…`, 0, 1);
    const info = await engine.call('load', { name }, ({ progress: p }) => p && show(`Loading ${name}…`, p.done, p.total));
    localStorage.setItem(LAST, name);
    show(`Loaded ${name} in ${info.load_ms} ms · ${info.backend}`);
    onLoaded(info);
  }

  async function importAndLoad(args, label) {
    show(`Copying ${label} into this browser…`, 0, 1);
    const saved = await engine.call('import', args, ({ progress: p }) => p && show(`Copying ${label}… ${mib(p.done)} of ${mib(p.total)}`, p.done, p.total));
    await refresh();
    await loadCached(saved.name);
  }

  async function run(fn) {
    if (busy) return;
    busy = true;
    dialog.classList.add('busy');
    try {
      await fn();
    } catch (e) {
      show(`Error: ${e.message}`);
    } finally {
      busy = false;
      dialog.classList.remove('busy');
      await refresh().catch(() => undefined);
    }
  }

  $('m-file').addEventListener('change', () => {
    const file = $('m-file').files?.[0];
    if (file) void run(() => importAndLoad({ file }, file.name));
  });
  $('m-fetch').addEventListener('click', () => {
    const url = $('m-url').value.trim();
    if (url) void run(() => importAndLoad({ url }, url));
  });
  $('open-models').hidden = false;
  $('open-models').addEventListener('click', () => {
    void refresh();
    if (!dialog.open) dialog.showModal();
  });

  /** On a visit: load the last model again from OPFS, or open the dialog to pick one. */
  return async function autoload() {
    await refresh();
    const models = await engine.call('list');
    const last = localStorage.getItem(LAST);
    const pick = models.find((m) => m.name === last) ?? (models.length === 1 ? models[0] : undefined);
    if (pick) await run(() => loadCached(pick.name));
    else if (!dialog.open) dialog.showModal();
  };
}
