// Plain JavaScript values <-> the WIT `document` arena of `portico:edge/data`, and JSON
// with exact numbers. No WIT imports here, so this module also runs in plain node
// (`node --test guest-js/test`).
//
// Numbers. DynamoDB numbers are decimal strings of up to 38 significant digits; a JS
// number (a double) holds about 16. A number read from a table or parsed from JSON
// becomes a JS `number` when that double prints back as the same decimal value
// (`"42"`, `"3.10"` -> 3.1, `"0.1"`, `"9007199254740992"`), and a `Decimal` (below)
// otherwise (`"12345678901234567890.5"`, `"9007199254740993"`). Nothing is ever
// rounded: a `Decimal` is written back with its exact text. `bigint`s are written as
// numbers too. `JSON.stringify` writes a `Decimal` as a string (its `toJSON`); use this
// module's `stringify` to write it as a JSON number.

const NUMBER = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** An exact decimal number that a JS number cannot hold: its text, unchanged. */
export class Decimal {
  /** @param {string | bigint} text a decimal number (`-12.5`, `1E+40`) */
  constructor(text) {
    text = String(text);
    if (!NUMBER.test(text)) throw new TypeError(`not a decimal number: ${JSON.stringify(text)}`);
    this.text = text;
    Object.freeze(this);
  }
  toString() {
    return this.text;
  }
  /** A string, so that `JSON.stringify` never rounds it; `stringify` writes a number. */
  toJSON() {
    return this.text;
  }
  /** The value as a `bigint`; a `RangeError` unless it is an integer. */
  toBigInt() {
    const { neg, digits, exp } = parts(this.text);
    if (exp < 0) throw new RangeError(`${this.text} is not an integer`);
    return (neg ? -1n : 1n) * BigInt(digits || '0') * 10n ** BigInt(exp);
  }
  /** The nearest double (may round). */
  toNumber() {
    return Number(this.text);
  }
  /** Same value, whatever the notation (`1.50` equals `15E-1`)? */
  equals(other) {
    return canonical(this.text) === canonical(String(other instanceof Decimal ? other.text : other));
  }
}

/** Sign, significant digits and exponent of a decimal text: value = digits x 10^exp. */
function parts(text) {
  const m = NUMBER.exec(text);
  if (!m) throw new TypeError(`not a decimal number: ${JSON.stringify(text)}`);
  const frac = m[3] || '';
  let digits = (m[2] + frac).replace(/^0+/, '');
  let exp = Number(m[4] || 0) - frac.length;
  const trimmed = digits.replace(/0+$/, '');
  exp += digits.length - trimmed.length;
  digits = trimmed;
  return digits ? { neg: m[1] === '-', digits, exp } : { neg: false, digits: '', exp: 0 };
}

function canonical(text) {
  const { neg, digits, exp } = parts(text);
  return digits ? `${neg ? '-' : ''}${digits}e${exp}` : '0';
}

/** A decimal text in plain notation, without an exponent (`1e+21` -> `1000000000000000000000`). */
export function plain(text) {
  const { neg, digits, exp } = parts(String(text));
  if (!digits) return '0';
  let out;
  if (exp >= 0) out = digits + '0'.repeat(exp);
  else if (-exp < digits.length) out = `${digits.slice(0, exp)}.${digits.slice(exp)}`;
  else out = `0.${'0'.repeat(-exp - digits.length)}${digits}`;
  return (neg ? '-' : '') + out;
}

/** A decimal text as a JS number when the double keeps its exact value, else a `Decimal`. */
export function toNumber(text) {
  const n = Number(text);
  if (Number.isFinite(n) && canonical(String(n)) === canonical(text)) return n;
  return new Decimal(text);
}

/** The decimal text of a number, `bigint` or `Decimal` (plain notation for doubles). */
export function numberText(value) {
  if (value instanceof Decimal) return value.text;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`not a finite number: ${String(value)}`);
  }
  const text = String(value);
  return text.includes('e') ? plain(text) : text;
}

function isNumeric(v) {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof Decimal;
}

function isBytes(v) {
  return v instanceof Uint8Array || v instanceof ArrayBuffer;
}

function bytes(v) {
  return v instanceof Uint8Array ? v : new Uint8Array(v);
}

function isPlainObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A plain value as a `document` (the WIT record `{ nodes }`), root first.
 *
 * string -> S; number, bigint, Decimal -> N; boolean -> BOOL; null -> NULL;
 * Uint8Array / ArrayBuffer -> B; Array -> L; plain object or Map -> M (members whose
 * value is `undefined` are left out); Set of strings -> SS, of numbers -> NS, of bytes
 * -> BS. Anything else (undefined, NaN, a Date, an empty or mixed Set) is a TypeError
 * naming where it is.
 */
export function toDocument(value) {
  const nodes = [];
  add(nodes, value, '$', 0);
  return { nodes };
}

function add(nodes, v, at, depth) {
  if (depth > 32) throw new TypeError(`${at}: nested deeper than 32 levels`);
  const index = nodes.length;
  nodes.push(undefined); // the parent's slot comes before its children's
  nodes[index] = node(nodes, v, at, depth);
  return index;
}

function node(nodes, v, at, depth) {
  if (v === null) return { tag: 'null' };
  if (typeof v === 'string') return { tag: 's', val: v };
  if (typeof v === 'boolean') return { tag: 'boolean', val: v };
  if (isNumeric(v)) {
    try {
      return { tag: 'n', val: numberText(v) };
    } catch (e) {
      throw new TypeError(`${at}: ${e.message}`);
    }
  }
  if (isBytes(v)) return { tag: 'b', val: bytes(v) };
  if (Array.isArray(v)) {
    return { tag: 'l', val: v.map((e, i) => add(nodes, e, `${at}[${i}]`, depth + 1)) };
  }
  if (v instanceof Set) {
    const members = [...v];
    if (members.length === 0) {
      throw new TypeError(`${at}: an empty Set has no DynamoDB type (sets must be non-empty: leave it out)`);
    }
    if (members.every((m) => typeof m === 'string')) return { tag: 'ss', val: members };
    if (members.every(isNumeric)) return { tag: 'ns', val: members.map(numberText) };
    if (members.every(isBytes)) return { tag: 'bs', val: members.map(bytes) };
    throw new TypeError(`${at}: a Set must hold only strings, only numbers or only bytes`);
  }
  const entries = v instanceof Map ? [...v] : isPlainObject(v) ? Object.entries(v) : null;
  if (entries) {
    const members = [];
    for (const [name, member] of entries) {
      if (member === undefined) continue;
      if (typeof name !== 'string') throw new TypeError(`${at}: a Map key must be a string`);
      members.push([name, add(nodes, member, `${at}.${name}`, depth + 1)]);
    }
    return { tag: 'm', val: members };
  }
  const what = v === undefined ? 'undefined' : typeof v === 'object' ? v.constructor?.name ?? 'object' : typeof v;
  throw new TypeError(`${at}: ${what} has no DynamoDB type`);
}

/**
 * A `document` as a plain value: the inverse of `toDocument` (M -> plain object, L ->
 * Array, SS/NS/BS -> Set, B -> Uint8Array, N -> number or Decimal, see above).
 *
 * Gotcha this handles: an `l` node's indices (WIT `list<u32>`) arrive as a
 * `Uint32Array`, whose `.map` returns another Uint32Array (values turned to numbers);
 * here elements are read with `Array.from`.
 */
export function fromDocument(doc) {
  const nodes = doc.nodes;
  const read = (index, depth) => {
    const n = nodes[index];
    if (n === undefined || depth > 32) throw new TypeError(`malformed document: node ${index}`);
    switch (n.tag) {
      case 's':
      case 'boolean':
        return n.val;
      case 'null':
        return null;
      case 'n':
        return toNumber(n.val);
      case 'b':
        return n.val;
      case 'ss':
        return new Set(n.val);
      case 'ns':
        return new Set(Array.from(n.val, toNumber));
      case 'bs':
        return new Set(n.val);
      case 'l':
        return Array.from(n.val, (i) => read(i, depth + 1));
      case 'm':
        return Object.fromEntries(Array.from(n.val, ([name, i]) => [name, read(i, depth + 1)]));
      default:
        throw new TypeError(`malformed document: unknown tag ${n.tag}`);
    }
  };
  return read(0, 0);
}

/**
 * JSON text with exact numbers: like `JSON.parse`, but a number whose value a double
 * cannot keep becomes a `Decimal` (see above). A `SyntaxError` names the offset.
 */
export function parse(text) {
  let i = 0;
  const fail = (what) => {
    throw new SyntaxError(`invalid JSON at offset ${i}: ${what}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
  const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const string = () => {
    STRING.lastIndex = i;
    const m = STRING.exec(text);
    if (!m) fail('bad string');
    i = STRING.lastIndex;
    return JSON.parse(m[0]);
  };
  const value = (depth) => {
    if (depth > 512) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '"') return string();
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      const out = [];
      i++;
      ws();
      if (text[i] === close) {
        i++;
      } else {
        for (;;) {
          if (c === '{') {
            ws();
            if (text[i] !== '"') fail('expected a string key');
            const key = string();
            ws();
            if (text[i] !== ':') fail("expected ':'");
            i++;
            out.push([key, value(depth + 1)]);
          } else {
            out.push(value(depth + 1));
          }
          ws();
          if (text[i] === close) {
            i++;
            break;
          }
          if (text[i] !== ',') fail(`expected ',' or '${close}'`);
          i++;
        }
      }
      return c === '{' ? Object.fromEntries(out) : out;
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUM.lastIndex = i;
    const m = NUM.exec(text);
    if (!m) fail(i < text.length ? `unexpected ${JSON.stringify(text[i])}` : 'unexpected end');
    i = NUM.lastIndex;
    return toNumber(m[0]);
  };
  const result = value(0);
  ws();
  if (i < text.length) fail('trailing characters');
  return result;
}

/**
 * JSON text of a value, like `JSON.stringify` (no indentation), but a `Decimal` or
 * `bigint` is written as a JSON number with all its digits, a Set as an array, a Map as
 * an object and bytes as base64 (as DynamoDB's JSON writes B).
 */
export function stringify(value) {
  const out = [];
  const write = (v, inArray) => {
    if (v !== null && typeof v === 'object' && !(v instanceof Decimal) && typeof v.toJSON === 'function') {
      v = v.toJSON();
    }
    if (v === null) out.push('null');
    else if (typeof v === 'string') out.push(JSON.stringify(v));
    else if (typeof v === 'boolean') out.push(String(v));
    else if (typeof v === 'number') out.push(Number.isFinite(v) ? String(v) : 'null');
    else if (typeof v === 'bigint') out.push(v.toString());
    else if (v instanceof Decimal) out.push(JSON_NUMBER.test(v.text) ? v.text : plain(v.text));
    else if (isBytes(v)) out.push(JSON.stringify(base64(bytes(v))));
    else if (Array.isArray(v) || v instanceof Set) {
      out.push('[');
      let first = true;
      for (const e of v) {
        if (!first) out.push(',');
        first = false;
        write(e, true);
      }
      out.push(']');
    } else if (typeof v === 'object') {
      out.push('{');
      let first = true;
      for (const [k, e] of v instanceof Map ? v : Object.entries(v)) {
        if (e === undefined || typeof e === 'function' || typeof e === 'symbol') continue;
        if (!first) out.push(',');
        first = false;
        out.push(JSON.stringify(String(k)), ':');
        write(e, false);
      }
      out.push('}');
    } else if (inArray) out.push('null'); // undefined, functions, symbols: as JSON.stringify
    else if (out.length === 0) return;
  };
  write(value, false);
  return out.length ? out.join('') : undefined;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 of bytes. */
export function base64(b) {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    s += i + 1 < b.length ? B64[(n >> 6) & 63] : '=';
    s += i + 2 < b.length ? B64[n & 63] : '=';
  }
  return s;
}
