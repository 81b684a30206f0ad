// Unit tests of guest-js/document.js in plain node: `node --test guest-js/test/`
// (tests/e2e/languages.rs runs them; the components are tested end to end there too).
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  Decimal,
  base64,
  fromDocument,
  numberText,
  parse,
  plain,
  stringify,
  toDocument,
  toNumber,
} from '../document.js';

test('numbers become a JS number only when the double keeps the exact decimal', () => {
  assert.equal(toNumber('42'), 42);
  assert.equal(toNumber('3.10'), 3.1);
  assert.equal(toNumber('0.1'), 0.1);
  assert.equal(toNumber('-1E+2'), -100);
  assert.equal(toNumber('9007199254740992'), 9007199254740992);
  for (const text of ['9007199254740993', '12345678901234567890.5', '12345678901234567890123456789012345678', '1E+400']) {
    const n = toNumber(text);
    assert.ok(n instanceof Decimal, text);
    assert.equal(n.toString(), text);
  }
  assert.ok(new Decimal('1.50').equals('15E-1'));
  assert.equal(new Decimal('12E+3').toBigInt(), 12000n);
  assert.throws(() => new Decimal('1.5').toBigInt(), RangeError);
  assert.throws(() => new Decimal('abc'), TypeError);
});

test('number text is plain decimal, never an exponent the reader must expand', () => {
  assert.equal(numberText(1e21), '1000000000000000000000');
  assert.equal(numberText(-1e-7), '-0.0000001');
  assert.equal(numberText(2.5), '2.5');
  assert.equal(numberText(10n ** 30n), '1' + '0'.repeat(30));
  assert.equal(plain('-1.25e-3'), '-0.00125');
  assert.equal(plain('0.000'), '0');
  assert.throws(() => numberText(NaN), TypeError);
  assert.throws(() => numberText(Infinity), TypeError);
});

test('a document is written parent first and read back to the same value', () => {
  const value = {
    s: 'é𝄞',
    n: 1.5,
    big: new Decimal('12345678901234567890.5'),
    b: new Uint8Array([0, 255]),
    yes: true,
    none: null,
    ss: new Set(['a', 'b']),
    ns: new Set([1, new Decimal('9007199254740993')]),
    l: [1, [2, { deep: 'x' }], []],
    m: { inner: {} },
    skipped: undefined,
  };
  const doc = toDocument(value);
  assert.equal(doc.nodes[0].tag, 'm');
  doc.nodes.forEach((node, i) => {
    const children = node.tag === 'm' ? node.val.map(([, c]) => c) : node.tag === 'l' ? node.val : [];
    for (const c of children) assert.ok(c > i, `child ${c} after parent ${i}`);
  });
  assert.ok(!doc.nodes[0].val.some(([name]) => name === 'skipped'));
  const back = fromDocument(doc);
  assert.equal(stringify(back), stringify({ ...value, skipped: undefined }));
  assert.deepEqual(back.l, [1, [2, { deep: 'x' }], []]);
  assert.deepEqual([...back.ss], ['a', 'b']);
});

test('list indices that arrive as a Uint32Array are read as values, not numbers', () => {
  const doc = {
    nodes: [
      { tag: 'l', val: new Uint32Array([1, 2]) },
      { tag: 's', val: 'a' },
      { tag: 'm', val: [['k', 3]] },
      { tag: 'n', val: '12345678901234567890.5' },
    ],
  };
  const value = fromDocument(doc);
  assert.ok(Array.isArray(value));
  assert.equal(value[0], 'a');
  assert.ok(value[1].k instanceof Decimal);
});

test('values DynamoDB has no type for are refused, naming where they are', () => {
  assert.throws(() => toDocument({ a: [1, undefined] }), /\$\.a\[1\]: undefined/);
  assert.throws(() => toDocument({ when: new Date(0) }), /\$\.when: Date has no DynamoDB type/);
  assert.throws(() => toDocument({ s: new Set() }), /empty Set/);
  assert.throws(() => toDocument({ s: new Set(['a', 1]) }), /only strings, only numbers or only bytes/);
  assert.throws(() => toDocument({ n: NaN }), /\$\.n: not a finite number/);
});

test('JSON is parsed and written with exact numbers', () => {
  const text = '{"a":12345678901234567890.5,"b":[1,2.5,true,null,"x\\n\\u00e9"],"c":{},"d":-0.1,"e":9007199254740993}';
  const value = parse(text);
  assert.ok(value.a instanceof Decimal);
  assert.ok(value.e instanceof Decimal);
  assert.equal(value.d, -0.1);
  assert.equal(value.b[4], 'x\né');
  assert.equal(stringify(value), text.replace('\\u00e9', 'é'));
  assert.equal(JSON.stringify(value.a), '"12345678901234567890.5"', 'JSON.stringify keeps the digits, as a string');
  assert.equal(stringify({ n: 10n ** 20n, b: new Uint8Array([104, 105]), s: new Set([1]) }), '{"n":100000000000000000000,"b":"aGk=","s":[1]}');
  assert.deepEqual(parse(' [ ] '), []);
  assert.deepEqual(parse('{"__proto__": 1}'), JSON.parse('{"__proto__": 1}'));
  for (const bad of ['', '{', '{"a":}', '[1,]', '01', 'NaN', '{"a":1} x', '"\u0001"', "{'a':1}"]) {
    assert.throws(() => parse(bad), SyntaxError, bad);
  }
  assert.equal(base64(new Uint8Array([1, 2, 3, 4])), 'AQIDBA==');
});
