// Helpers for Portico functions written in JavaScript (componentize-js, world
// `portico:edge/function`): the request, responses, errors that become HTTP answers,
// and thin table helpers over `portico:edge/data` with plain values and exact numbers.
//
//   import { serve, json, HttpError, Table } from '../../guest-js/portico.js';
//   export const handler = serve((req) => json({ hello: req.pathParam('name') }));
//
// A function's export must be named `handler` (the WIT interface it implements), and
// handlers are synchronous: the component model call returns when `handle` does.

import { Table as WitTable } from 'portico:edge/data@0.1.0';
import { log as witLog } from 'portico:edge/log@0.1.0';
import { get as witVariable } from 'portico:edge/variables@0.1.0';
import { fromDocument, parse, stringify, toDocument } from './document.js';

export * from './document.js';

const encoder = new TextEncoder();

/** An HTTP answer thrown from a handler: `{"message": ...}` (plus `extra`) with `status`. */
export class HttpError extends Error {
  constructor(status, message, extra = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
}

function find(pairs, name) {
  for (const [k, v] of pairs) if (k === name) return v;
  return undefined;
}

/** One request: the WIT `http-request-event` (payload format 2.0), read with helpers. */
export class Request {
  constructor(event) {
    /** The event as the bindings give it (camelCase fields; `body` a Uint8Array). */
    this.event = event;
  }
  /** `GET`, `POST`, ... */
  get method() {
    return this.event.requestContext.http.method;
  }
  /** The path, percent-encoding intact, without the query string. */
  get path() {
    return this.event.rawPath;
  }
  /** The route key that matched, e.g. `GET /notes/{id}`. */
  get routeKey() {
    return this.event.routeKey;
  }
  get rawQuery() {
    return this.event.rawQueryString;
  }
  get requestId() {
    return this.event.requestContext.requestId;
  }
  /** Request time in ms since the Unix epoch, as a number (the WIT u64 is a bigint). */
  get timeEpoch() {
    return Number(this.event.requestContext.timeEpoch);
  }
  /** A `{name}` segment's value (URL-decoded), or undefined. */
  pathParam(name) {
    return find(this.event.pathParameters, name);
  }
  /** A query parameter (URL-decoded; repeated names joined with `,`), or undefined. */
  query(name) {
    return find(this.event.queryStringParameters, name);
  }
  /** A header, by case-insensitive name, or undefined. */
  header(name) {
    return find(this.event.headers, name.toLowerCase());
  }
  stageVariable(name) {
    return find(this.event.stageVariables, name);
  }
  /** A cookie's value, or undefined. */
  cookie(name) {
    for (const c of this.event.cookies) {
      const eq = c.indexOf('=');
      if (eq >= 0 && c.slice(0, eq).trim() === name) return c.slice(eq + 1).trim();
    }
    return undefined;
  }
  get pathParams() {
    return Object.fromEntries(this.event.pathParameters);
  }
  get queryParams() {
    return Object.fromEntries(this.event.queryStringParameters);
  }
  get headers() {
    return Object.fromEntries(this.event.headers);
  }
  /** The raw body bytes. */
  get body() {
    return this.event.body;
  }
  /** The body as UTF-8 text; HttpError 400 when it is not UTF-8. */
  text() {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.event.body);
    } catch {
      throw new HttpError(400, 'the body is not UTF-8');
    }
  }
  /** The body as JSON with exact numbers (`parse`); HttpError 400 when it is not JSON. */
  json() {
    const text = this.text();
    if (text.trim() === '') throw new HttpError(400, 'expected a JSON body');
    try {
      return parse(text);
    } catch (e) {
      throw new HttpError(400, `the body is not JSON: ${e.message}`);
    }
  }
}

function headerList(headers) {
  if (!headers) return [];
  return (Array.isArray(headers) ? headers : Object.entries(headers)).map(([k, v]) => [String(k), String(v)]);
}

/**
 * A response (the WIT `http-response`). `body` is a string (sent as UTF-8) or bytes;
 * `headers` an object or `[name, value]` pairs; each of `cookies` becomes a `set-cookie`.
 */
export function response({ status = 200, headers, cookies = [], body = '' } = {}) {
  return {
    status,
    headers: headerList(headers),
    cookies: [...cookies],
    body: typeof body === 'string' ? encoder.encode(body) : new Uint8Array(body),
  };
}

/** A JSON response (`stringify`: exact numbers); `init` as `response`'s, `status` 200. */
export function json(value, init = {}) {
  const headers = [['content-type', 'application/json'], ...headerList(init.headers)];
  return response({ ...init, headers, body: stringify(value) ?? 'null' });
}

/** A `text/plain` response. */
export function text(value, init = {}) {
  const headers = [['content-type', 'text/plain; charset=utf-8'], ...headerList(init.headers)];
  return response({ ...init, headers, body: String(value) });
}

/**
 * The `handler` export from a function `(req: Request) => response`. A thrown
 * `HttpError` becomes its JSON answer; anything else thrown is returned as the WIT
 * `err(message)`, which the host logs with the request id and answers with 500.
 */
export function serve(fn) {
  return {
    handle(event) {
      try {
        const out = fn(new Request(event));
        if (out && typeof out.then === 'function') {
          return { tag: 'err', val: 'the handler returned a Promise: handlers must be synchronous' };
        }
        return out;
      } catch (e) {
        if (e instanceof HttpError) return json({ ...e.extra, message: e.message }, { status: e.status });
        return { tag: 'err', val: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) };
      }
    },
  };
}

/** Writes a record into the host's log, tagged with the request id. */
export const log = Object.fromEntries(
  ['trace', 'debug', 'info', 'warn', 'error'].map((level) => [level, (message) => witLog(level, String(message))]),
);

/** The function's variable `name` from the manifest, or undefined. */
export function variable(name) {
  try {
    return witVariable(name);
  } catch (e) {
    if (e?.payload?.tag === 'undefined') return undefined;
    throw e;
  }
}

/**
 * A data call's failure. `kind` is the WIT error case (`conditional-check-failed`,
 * `validation`, `access-denied`, ...), `detail` its payload as the bindings give it;
 * `item` the item as it was, for a failed condition that asked for it.
 */
export class DataError extends Error {
  constructor(payload) {
    const detail = payload.val;
    super(`${payload.tag}${typeof detail === 'string' ? `: ${detail}` : ''}`);
    this.name = 'DataError';
    this.kind = payload.tag;
    this.detail = detail;
    if (payload.tag === 'conditional-check-failed' && detail) this.item = fromDocument(detail);
  }
}

function call(f) {
  try {
    return f();
  } catch (e) {
    if (e && e.payload && typeof e.payload.tag === 'string') throw new DataError(e.payload);
    throw e;
  }
}

function placeholders({ names = {}, values = {} } = {}) {
  return {
    names: Object.entries(names),
    values: Object.entries(values).map(([k, v]) => [k, toDocument(v)]),
  };
}

function optionalItem(doc) {
  return doc === undefined || doc === null ? undefined : fromDocument(doc);
}

function writeOptions(o, returnValues) {
  return {
    condition: o.condition,
    placeholders: placeholders(o),
    returnValues,
    returnOldOnConditionFailure: Boolean(o.returnOldOnConditionFailure),
  };
}

/**
 * A table the function's manifest entry lists, with plain values: keys and items are
 * objects (`{ id: 'n1' }`), `names` maps `#name` placeholders to attribute names,
 * `values` maps `:value` placeholders to plain values. Failures throw `DataError`.
 */
export class Table {
  /** Opens table `name` (`DataError` `access-denied` unless the manifest grants it). */
  static open(name) {
    return new Table(call(() => WitTable.open(name)));
  }
  constructor(raw) {
    /** The WIT `table` resource, for the calls not wrapped here (scan, describe). */
    this.raw = raw;
  }
  get name() {
    return this.raw.name();
  }
  /** The item with this key, or undefined. Options: `consistent`, `projection`, `names`. */
  get(key, { consistent = false, projection, names = {} } = {}) {
    const options = { consistent, projection, names: Object.entries(names) };
    return optionalItem(call(() => this.raw.get(toDocument(key), options)));
  }
  /**
   * Creates or replaces an item. Options: `condition` (with `names`, `values`),
   * `returnOld` (returns the item as it was), `returnOldOnConditionFailure`.
   */
  put(item, o = {}) {
    const options = writeOptions(o, o.returnOld ? 'all-old' : 'none');
    return optionalItem(call(() => this.raw.put(toDocument(item), options)));
  }
  /** `UpdateItem` with an update expression; `returnValues` as WIT names it (`all-new`). */
  update(key, expression, o = {}) {
    const options = writeOptions(o, o.returnValues ?? 'none');
    return optionalItem(call(() => this.raw.update(toDocument(key), expression, options)));
  }
  /** Deletes the item with this key; options as `put`'s. */
  delete(key, o = {}) {
    const options = writeOptions(o, o.returnOld ? 'all-old' : 'none');
    return optionalItem(call(() => this.raw.delete(toDocument(key), options)));
  }
  /**
   * One page of a query: `{ keyCondition, names, values, index, filter, projection,
   * limit, startKey, forward = true, consistent }` -> `{ items, count, scannedCount,
   * lastKey }` (`lastKey` undefined on the last page; pass it as the next `startKey`).
   */
  query({ keyCondition, index, filter, projection, limit, startKey, forward = true, consistent = false, ...p }) {
    const input = {
      index,
      keyCondition,
      filter,
      projection,
      placeholders: placeholders(p),
      limit,
      exclusiveStartKey: startKey === undefined ? undefined : toDocument(startKey),
      forward,
      consistent,
      countOnly: false,
    };
    const page = call(() => this.raw.query(input));
    return {
      items: page.items.map(fromDocument),
      count: page.count,
      scannedCount: page.scannedCount,
      lastKey: optionalItem(page.lastEvaluatedKey),
    };
  }
}
