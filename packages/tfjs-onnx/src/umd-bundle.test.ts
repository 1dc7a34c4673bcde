import t from 'tap';
import { readBundleData } from './umd-bundle.js';

const wrap = (body: string) =>
  `!function(e){if("object"==typeof exports&&"undefined"!=typeof module)module.exports=e();else{(this).x=e()}}((function(){return function e(a,n,i){function l(_){var r=n[_]={exports:{}};a[_][0].call(r.exports,null,r,r.exports);return n[_].exports}return l}({1:[function(e,a,n){a.exports=${body}},{}]},{},[1])(1)}));`;

t.test('reads the literal a browserify bundle exports, as minifiers write it', async (t) => {
  const v = readBundleData(wrap(`{modelTopology:{keras_version:"2.2.4",sparse:!1,on:!0,none:null,gone:void 0,n:[1,-.5,2e-3,-0,1/0],"quoted key":'it\\'s',esc:"a\\n\\t\\x41\\u0042\\u{1F600}\\\\"},list:[],empty:{}}`));
  t.same(v, {
    modelTopology: { keras_version: '2.2.4', sparse: false, on: true, none: null, gone: undefined, n: [1, -0.5, 0.002, -0, Infinity], 'quoted key': "it's", esc: 'a\n\tAB\u{1F600}\\' },
    list: [],
    empty: {},
  });
  t.equal(readBundleData(wrap('"YWJj"')), 'YWJj');
});

t.test('a __proto__ key stays data', async (t) => {
  const v = readBundleData(wrap('{__proto__:{polluted:1}}')) as Record<string, unknown>;
  t.equal(Object.getPrototypeOf(v), Object.prototype);
  t.same(Object.keys(v), ['__proto__']);
  t.equal(({} as Record<string, unknown>).polluted, undefined);
});

t.test('code is refused, never run', async (t) => {
  t.throws(() => readBundleData(wrap('{a:require("fs")}')), /not a data bundle/);
  t.throws(() => readBundleData(wrap('{a:1+1}')), /not a data bundle/);
  t.throws(() => readBundleData('module.exports = globalThis.process.exit(1)'), /not a data bundle/);
  t.throws(() => readBundleData('module.exports = "unterminated'), /not a data bundle/);
});
