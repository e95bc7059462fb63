// The medstream demo page: submits an image to POST /api/v1/images?wait= and shows the result.
(() => {
  const $ = (id) => document.getElementById(id);
  const show = (el, on) => (el.hidden = !on);
  const text = (el, value) => (el.textContent = value);

  async function problemText(res) {
    try {
      const p = await res.json();
      return `${res.status} ${p.title ?? ''}${p.detail ? `: ${p.detail}` : ''}`;
    } catch {
      return `${res.status} ${res.statusText}`;
    }
  }

  function render(result) {
    text($('verdict'), `${result.label} — ${(result.labelProbability * 100).toFixed(1)} %`);
    text($('disclaimer'), result.disclaimer ?? '');
    show($('disclaimer'), Boolean(result.disclaimer));
    const body = $('probabilities').querySelector('tbody');
    body.replaceChildren(
      ...Object.entries(result.probabilities).map(([label, p]) => {
        const tr = document.createElement('tr');
        const name = document.createElement('td');
        const value = document.createElement('td');
        value.className = 'num';
        text(name, label);
        text(value, p.toFixed(4));
        tr.append(name, value);
        return tr;
      }),
    );
    text(
      $('meta'),
      `model ${result.model} on ${result.runtime.kind}/${result.runtime.backend} (${result.runtime.device}); ` +
        `${result.timingsMs.total.toFixed(0)} ms in the processor; batch of ${result.batchSize}`,
    );
    if (result.heatmap) {
      $('heatmap').src = result.heatmap.overlay;
      text($('heatmap-caption'), `Grad-CAM heatmap of "${result.heatmap.label}"`);
    }
    show($('heatmap').parentElement, Boolean(result.heatmap));
    $('input').src = result.input.image;
    show($('result'), true);
  }

  $('upload').addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = $('file').files[0];
    if (!file) return;
    show($('error'), false);
    show($('result'), false);
    show($('busy'), true);
    $('submit').disabled = true;
    try {
      const res = await fetch('/api/v1/images?wait=60s', {
        method: 'POST',
        headers: { 'content-type': file.type || 'application/octet-stream' },
        body: file,
      });
      if (!res.ok) throw new Error(await problemText(res));
      const result = await res.json();
      if (result.status === 'failed')
        throw new Error(`failed: ${result.error?.message ?? 'unknown'}`);
      if (result.status !== 'done') throw new Error('still pending after 60 s; try again later');
      render(result);
    } catch (err) {
      text($('error'), err.message);
      show($('error'), true);
    } finally {
      show($('busy'), false);
      $('submit').disabled = false;
    }
  });

  $('study').addEventListener('submit', async (event) => {
    event.preventDefault();
    const uid = $('study-uid').value.trim();
    const list = $('study-results');
    list.replaceChildren();
    const res = await fetch(`/api/v1/studies/${encodeURIComponent(uid)}/results`);
    if (!res.ok) {
      const li = document.createElement('li');
      text(li, await problemText(res));
      list.append(li);
      return;
    }
    const { items } = await res.json();
    if (items.length === 0) {
      const li = document.createElement('li');
      text(li, 'no results for this study (yet)');
      list.append(li);
    }
    for (const r of items) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = r.links.self;
      text(
        a,
        r.status === 'done' ? `${r.label} (${(r.labelProbability * 100).toFixed(1)} %)` : r.status,
      );
      li.append(a, document.createTextNode(` — ${r.dicom?.modality ?? ''} ${r.model ?? ''}`));
      list.append(li);
    }
  });
})();
