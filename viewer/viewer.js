// The viewer's behaviour: the types the server knows, the text to /v1/entities, and the records
// back as marks in the text, one colour per type, with the concept and confidence on hover.
// Plain browser JavaScript, no dependencies: the page must work from the package alone.

/** One colour per type; types outside this list take the spare ones in turn. */
const COLOURS = {
  disease: '#d1495b', chemical: '#2a9d4b', gene: '#2f6fde', species: '#8e44ad', protein: '#0f9aa8',
  dna: '#e67e22', rna: '#9c6b30', cell_type: '#d6479b', cell_line: '#7a8b1f', anatomy: '#c9a227',
};
const SPARE_COLOURS = ['#5d6d7e', '#16a085', '#c0392b', '#2c3e50'];

const $ = (id) => document.getElementById(id);
let token = '';

function colourOf(type, known) {
  return COLOURS[type] ?? SPARE_COLOURS[Math.max(0, known.indexOf(type)) % SPARE_COLOURS.length];
}

async function call(path, body) {
  const headers = body === undefined ? {} : { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(path, body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(body) });
  const reply = await response.json().catch(() => ({}));
  if (response.status === 401) $('token-field').hidden = false;
  if (!response.ok) throw new Error(reply?.error?.message ?? `${response.status} ${response.statusText}`);
  return reply;
}

function say(message, isError = false) {
  $('status').textContent = message;
  $('status').classList.toggle('error', isError);
}

let knownTypes = [];

async function loadTypes() {
  const { model, types, default: chosen } = await call('/v1/entity-types');
  knownTypes = types;
  $('model').textContent = model;
  const box = $('types');
  box.replaceChildren(box.querySelector('legend'));
  for (const type of types) {
    const label = document.createElement('label');
    const input = Object.assign(document.createElement('input'), { type: 'checkbox', value: type, checked: chosen.includes(type) });
    const swatch = Object.assign(document.createElement('span'), { className: 'swatch' });
    swatch.style.setProperty('--type-color', colourOf(type, types));
    label.append(input, swatch, type);
    box.append(label);
  }
}

const chosenTypes = () => [...$('types').querySelectorAll('input:checked')].map((input) => input.value);

/**
 * The text with a mark per record. Marks nest where records nest; a record that crosses another's
 * end is split into two marks with the same data-record, so every record keeps all its text.
 */
function render(text, records) {
  const pieces = records.map((r, record) => ({ record, start: r.start, end: r.end }))
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const container = $('annotated');
  container.replaceChildren();
  build(container, pieces, 0, text.length);

  function build(parent, list, from, to) {
    let cursor = from;
    let rest = list;
    while (rest.length > 0) {
      const [piece, ...others] = rest;
      const inside = [];
      const after = [];
      for (const other of others) {
        if (other.start >= piece.end) after.push(other);
        else if (other.end <= piece.end) inside.push(other);
        else {
          inside.push({ ...other, end: piece.end });
          after.push({ ...other, start: piece.end });
        }
      }
      parent.append(text.slice(cursor, piece.start));
      parent.append(mark(piece, inside));
      cursor = piece.end;
      rest = after.sort((a, b) => a.start - b.start || b.end - a.end);
    }
    parent.append(text.slice(cursor, to));
  }

  function mark(piece, inside) {
    const r = records[piece.record];
    const element = document.createElement('mark');
    element.className = 'entity';
    element.style.setProperty('--type-color', colourOf(r.type, knownTypes));
    Object.assign(element.dataset, { record: String(piece.record), type: r.type });
    build(element, inside, piece.start, piece.end);
    return element;
  }
}

function renderLegend(types, records) {
  const counts = new Map(types.map((type) => [type, 0]));
  for (const r of records) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  $('legend').replaceChildren(...[...counts].map(([type, count]) => {
    const item = document.createElement('li');
    item.dataset.type = type;
    const swatch = Object.assign(document.createElement('span'), { className: 'swatch' });
    swatch.style.setProperty('--type-color', colourOf(type, knownTypes));
    const number = Object.assign(document.createElement('span'), { className: 'count', textContent: String(count) });
    item.append(swatch, type, number);
    return item;
  }));
}

let shown = [];

function showTooltip(event) {
  const element = event.target.closest('mark.entity');
  const tooltip = $('tooltip');
  if (!element) {
    tooltip.hidden = true;
    return;
  }
  const r = shown[Number(element.dataset.record)];
  const rows = [
    ['type', r.type],
    ['concept', r.concept_id ? `${r.concept_id}${r.concept_name ? ` (${r.concept_name})` : ''}` : 'none'],
    ['confidence', r.confidence === null ? 'n/a' : r.confidence.toFixed(2)],
  ];
  if (r.long_form) rows.push(['long form', r.long_form]);
  const list = document.createElement('dl');
  for (const [term, value] of rows) list.append(Object.assign(document.createElement('dt'), { textContent: term }), Object.assign(document.createElement('dd'), { textContent: value }));
  const title = Object.assign(document.createElement('strong'), { textContent: r.text });
  tooltip.replaceChildren(title, list);
  const box = element.getBoundingClientRect();
  tooltip.style.left = `${window.scrollX + box.left}px`;
  tooltip.style.top = `${window.scrollY + box.bottom + 6}px`;
  tooltip.hidden = false;
}

async function annotate() {
  const text = $('text').value;
  const types = chosenTypes();
  if (text.trim() === '') return say('Paste or load a text first.', true);
  if (types.length === 0) return say('Pick at least one type.', true);
  $('annotate').disabled = true;
  say('Annotating…');
  try {
    const reply = await call('/v1/entities', { texts: [text], types });
    shown = reply.documents[0].entities;
    render(text, shown);
    renderLegend(reply.types, shown);
    say(`${shown.length} ${shown.length === 1 ? 'entity' : 'entities'} · ${reply.model}`);
  } catch (error) {
    say(error.message, true);
  } finally {
    $('annotate').disabled = false;
  }
}

$('annotate').addEventListener('click', annotate);
$('file').addEventListener('change', async () => {
  const [file] = $('file').files;
  if (file) $('text').value = await file.text();
});
$('token').addEventListener('change', () => {
  token = $('token').value;
  loadTypes().then(() => say(''), (error) => say(error.message, true));
});
$('annotated').addEventListener('mouseover', showTooltip);
$('annotated').addEventListener('mouseleave', () => ($('tooltip').hidden = true));
loadTypes().catch((error) => say(error.message, true));
