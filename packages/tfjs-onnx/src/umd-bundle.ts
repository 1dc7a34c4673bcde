/**
 * Reads the data out of a UMD / browserify bundle such as nsfwjs' `model.min.js` (whose module exports
 * `{modelTopology, weightsManifest}`) and `group1-shard1of1.min.js` (which exports the weight bytes as
 * one base64 string).
 *
 * Why parse rather than require(): the bundles are minified JavaScript, and a converter is handed
 * paths by whoever runs `loupe models import-tfjs`. Requiring one would run whatever code it holds,
 * so importing a model would mean trusting it as a program. Instead this finds the module body's
 * `<module>.exports = <literal>` and reads that literal with a parser that knows only JavaScript
 * literal syntax (objects, arrays, strings, numbers, `!0`/`!1`, `null`, `void 0`, `1/0`) as minifiers
 * write it; anything else is refused, and nothing is ever evaluated.
 */
export function readBundleData(source: string, what = 'bundle'): unknown {
  const re = /\b[A-Za-z_$][\w$]*\.exports\s*=\s*/g;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const p = new LiteralParser(source, re.lastIndex);
    if (!p.startsLiteral()) continue;
    try {
      const value = p.value();
      p.space();
      // The literal ends the assignment: `}` closing the module function, `;` or `,`.
      if (p.pos < source.length && !'};,)'.includes(source[p.pos]!)) continue;
      return value;
    } catch {
      continue;
    }
  }
  throw new TypeError(`${what} is not a data bundle: found no \`module.exports = <literal>\` in it`);
}

class LiteralParser {
  constructor(
    private readonly s: string,
    public pos: number,
  ) {}

  startsLiteral(): boolean {
    this.space();
    return /^[{["'\d.!-]|^null\b|^true\b|^false\b|^void 0\b/.test(this.s.slice(this.pos, this.pos + 6));
  }

  space(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }

  private fail(what: string): never {
    throw new SyntaxError(`${what} at offset ${this.pos}`);
  }

  private eat(token: string): boolean {
    this.space();
    if (this.s.startsWith(token, this.pos)) {
      this.pos += token.length;
      return true;
    }
    return false;
  }

  value(): unknown {
    this.space();
    const c = this.s[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"' || c === "'") return this.string();
    if (this.eat('!0')) return true;
    if (this.eat('!1')) return false;
    for (const [word, v] of [['true', true], ['false', false], ['null', null], ['void 0', undefined]] as const) {
      if (this.s.startsWith(word, this.pos) && !/[\w$]/.test(this.s[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return v;
      }
    }
    return this.number();
  }

  private number(): number {
    const re = /-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
    re.lastIndex = this.pos;
    const m = re.exec(this.s);
    if (!m) this.fail('expected a value');
    this.pos = re.lastIndex;
    let v = Number(m[0]);
    // Minifiers write Infinity as 1/0.
    if (this.s[this.pos] === '/' && this.s[this.pos + 1] !== '/' && this.s[this.pos + 1] !== '*') {
      this.pos++;
      v /= this.number();
    }
    return v;
  }

  private string(): string {
    const quote = this.s[this.pos]!;
    this.pos++;
    let out = '';
    for (;;) {
      // Copy runs of plain characters in one go: a weight bundle is one multi-megabyte string.
      let end = this.pos;
      while (end < this.s.length && this.s[end] !== quote && this.s[end] !== '\\' && this.s[end] !== '\n') end++;
      out += this.s.slice(this.pos, end);
      this.pos = end;
      const c = this.s[this.pos];
      if (c === undefined || c === '\n') this.fail('unterminated string');
      this.pos++;
      if (c === quote) return out;
      out += this.escape();
    }
  }

  private escape(): string {
    const c = this.s[this.pos++];
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', 0: '\0' };
    if (c === undefined) this.fail('unterminated escape');
    if (c in simple && !(c === '0' && /\d/.test(this.s[this.pos] ?? ''))) return simple[c]!;
    if (c === 'x') return this.hex(2);
    if (c === 'u') {
      if (this.s[this.pos] !== '{') return this.hex(4);
      const end = this.s.indexOf('}', this.pos);
      if (end < 0) this.fail('bad \\u{} escape');
      const cp = parseInt(this.s.slice(this.pos + 1, end), 16);
      this.pos = end + 1;
      if (!Number.isFinite(cp)) this.fail('bad \\u{} escape');
      return String.fromCodePoint(cp);
    }
    if (c === '\r' || c === '\n') {
      if (c === '\r' && this.s[this.pos] === '\n') this.pos++;
      return '';
    }
    return c;
  }

  private hex(n: number): string {
    const h = this.s.slice(this.pos, this.pos + n);
    if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) this.fail('bad hex escape');
    this.pos += n;
    return String.fromCharCode(parseInt(h, 16));
  }

  private array(): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    if (this.eat(']')) return out;
    for (;;) {
      out.push(this.value());
      if (this.eat(']')) return out;
      if (!this.eat(',')) this.fail('expected , or ] in an array');
      if (this.eat(']')) return out;
    }
  }

  private object(): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    if (this.eat('}')) return out;
    for (;;) {
      const key = this.key();
      if (!this.eat(':')) this.fail('expected : in an object');
      // defineProperty: a key named __proto__ must stay data, never set the prototype.
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      if (this.eat('}')) return out;
      if (!this.eat(',')) this.fail('expected , or } in an object');
      if (this.eat('}')) return out;
    }
  }

  private key(): string {
    this.space();
    const c = this.s[this.pos];
    if (c === '"' || c === "'") return this.string();
    const re = /[A-Za-z_$][\w$]*|\d+(?:\.\d+)?/y;
    re.lastIndex = this.pos;
    const m = re.exec(this.s);
    if (!m) this.fail('expected a key');
    this.pos = re.lastIndex;
    return /^\d/.test(m[0]) ? String(Number(m[0])) : m[0];
  }
}
