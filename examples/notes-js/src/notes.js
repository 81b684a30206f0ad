// A small data API in JavaScript on table `notes` (partition key `id`, S):
//   POST /notes-js       {"text": "...", "meta": {...}?} -> 201 the note, with its new id
//   GET  /notes-js/{id}  -> 200 the note, or 404
// `meta` is any JSON object, stored as a DynamoDB map and returned as it came, numbers
// exact (a JSON number too precise for a double is kept as a `Decimal`).
import { DataError, HttpError, Table, json, serve } from '../../../guest-js/portico.js';

const MAX_TEXT = 1000;

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The note in a POST body, checked; HttpError 400 naming what is wrong. */
function noteInput(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'expected a JSON object like {"text": "..."}');
  }
  for (const field of Object.keys(body)) {
    if (field !== 'text' && field !== 'meta') throw new HttpError(400, `unknown field \`${field}\``, { field });
  }
  const { text, meta } = body;
  if (typeof text !== 'string' || text.trim() === '') {
    throw new HttpError(400, '`text` must be a non-empty string', { field: 'text' });
  }
  if (text.length > MAX_TEXT) {
    throw new HttpError(400, `\`text\` must be at most ${MAX_TEXT} characters`, { field: 'text' });
  }
  if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta))) {
    throw new HttpError(400, '`meta` must be a JSON object', { field: 'meta' });
  }
  return { text, meta };
}

function create(req) {
  const { text, meta } = noteInput(req.json());
  const note = { id: newId(), text, created: req.timeEpoch };
  if (meta !== undefined) note.meta = meta;
  try {
    // A fresh id; the condition only guards against the astronomically unlikely repeat.
    Table.open('notes').put(note, { condition: 'attribute_not_exists(id)' });
  } catch (e) {
    // What the store refuses in `meta` (a number over 38 digits, an item over 400 KB).
    if (e instanceof DataError && (e.kind === 'validation' || e.kind === 'item-too-large')) {
      throw new HttpError(400, e.message, { field: 'meta' });
    }
    throw e;
  }
  return json(note, { status: 201, headers: { location: `/notes-js/${note.id}` } });
}

function read(req) {
  const id = req.pathParam('id');
  const note = Table.open('notes').get({ id });
  if (note === undefined) throw new HttpError(404, `no note ${id}`);
  return json(note);
}

export const handler = serve((req) => {
  switch (req.routeKey) {
    case 'POST /notes-js':
      return create(req);
    case 'GET /notes-js/{id}':
      return read(req);
    default:
      throw new HttpError(404, 'Not Found');
  }
});
