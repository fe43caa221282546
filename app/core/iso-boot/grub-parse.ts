/**
 * GRUB 2 script text → syntax tree (GRUB manual, "Shell-like scripting"): words with '…' (no expansion),
 * "…" (with `$var` / `${var}` expansion, `\` escaping `$ " \` and newline) and unquoted parts (`\` escapes
 * any character, `\`-newline joins lines); `#` starting a word comments to the end of the line; `;` and
 * newlines end commands; `{` `}` delimit blocks; `$"…"` (a string GRUB translates) is read as `"…"`.
 * Reserved words (`if then elif else fi`, `for while until do done`, `function`, `menuentry`, `submenu`)
 * count only as a command's first, unquoted word.
 *
 * Never throws: an unterminated quote is taken literally, a missing `fi` / `}` / `done` ends at the end of
 * the text, a stray `}` is dropped; each is reported in `problems`.
 */

/** A piece of one word: literal text, or a variable to expand when the word is evaluated. */
export type WordPart = { readonly text: string } | { readonly name: string };

export interface Word {
  readonly parts: readonly WordPart[];
  /** No quotes, escapes or variables: may be a reserved word. */
  readonly plain: boolean;
}

export type Stmt =
  | { readonly t: 'cmd'; readonly words: readonly Word[]; readonly line: number }
  | {
      readonly t: 'if';
      readonly branches: readonly { readonly cond: readonly Stmt[]; readonly body: readonly Stmt[] }[];
      readonly otherwise: readonly Stmt[];
      readonly line: number;
    }
  | {
      readonly t: 'entry' | 'submenu';
      readonly words: readonly Word[];
      readonly body: readonly Stmt[];
      readonly line: number;
    }
  | { readonly t: 'function'; readonly name: string; readonly body: readonly Stmt[]; readonly line: number }
  | {
      readonly t: 'for';
      readonly name: string;
      readonly items: readonly Word[];
      readonly body: readonly Stmt[];
      readonly line: number;
    }
  | { readonly t: 'loop'; readonly line: number };

export interface ParseProblem {
  readonly line: number;
  readonly detail: string;
}

type Token =
  | { readonly k: 'word'; readonly word: Word; readonly line: number }
  | { readonly k: 'sep' | '{' | '}'; readonly line: number };

/** Deepest nesting of blocks (`{ }`, `if`, `for`) parsed; real configurations nest a handful. */
export const MAX_NESTING = 64;

const WORD_END = new Set([' ', '\t', '\r', '\n', '\f', '\v', ';', '{', '}']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const SPECIAL_VAR = /^(?:[0-9]+|[?#*@])/;

/** Split GRUB script text into words, separators and braces. */
export function lex(text: string, problems: ParseProblem[]): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (c === '\n') {
      out.push({ k: 'sep', line });
      line++;
      i++;
      continue;
    }
    if (c === ';') {
      out.push({ k: 'sep', line });
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
      line++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '{' || c === '}') {
      out.push({ k: c, line });
      i++;
      continue;
    }
    // A word: runs until unquoted whitespace, ';', '{' or '}'.
    const startLine = line;
    const parts: WordPart[] = [];
    let plain = true;
    let lit = '';
    const variable = (): boolean => {
      const v = readVariable(text, i);
      if (!v) return false;
      if (lit) parts.push({ text: lit });
      lit = '';
      parts.push({ name: v.name });
      i = v.next;
      return true;
    };
    while (i < n) {
      const d = text[i] as string;
      if (WORD_END.has(d)) break;
      if (d === '\\') {
        plain = false;
        if (text[i + 1] === '\n') {
          i += 2;
          line++;
        } else if (i + 1 < n) {
          lit += text[i + 1];
          i += 2;
        } else i++;
        continue;
      }
      if (d === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) {
          problems.push({ line, detail: 'unterminated single quote (taken literally)' });
          lit += d;
          i++;
          continue;
        }
        plain = false;
        const s = text.slice(i + 1, end);
        lit += s;
        line += s.split('\n').length - 1;
        i = end + 1;
        continue;
      }
      if (d === '"') {
        const end = closingDouble(text, i + 1);
        if (end < 0) {
          problems.push({ line, detail: 'unterminated double quote (taken literally)' });
          lit += d;
          i++;
          continue;
        }
        plain = false;
        i++;
        while (i < end) {
          const e = text[i] as string;
          if (e === '\\' && i + 1 < end && /[$"\\\n]/.test(text[i + 1] as string)) {
            if (text[i + 1] === '\n') line++;
            else lit += text[i + 1];
            i += 2;
          } else if (e === '$' && variable()) {
            // expanded part pushed
          } else {
            if (e === '\n') line++;
            lit += e;
            i++;
          }
        }
        i = end + 1;
        continue;
      }
      if (d === '$' && variable()) {
        plain = false;
        continue;
      }
      if (d === '$' && text[i + 1] === '"') {
        // $"…" is a string GRUB translates (gettext); untranslated it is the string itself.
        i++;
        continue;
      }
      lit += d;
      i++;
    }
    if (lit) parts.push({ text: lit });
    out.push({ k: 'word', word: { parts, plain }, line: startLine });
  }
  return out;
}

/** At text[i] === '$': `${name}`, `$name`, `$1`, `$?` and where the text goes on; else a literal '$'. */
function readVariable(text: string, i: number): { name: string; next: number } | undefined {
  const rest = text.slice(i + 1, i + 200);
  if (rest[0] === '{') {
    const end = rest.indexOf('}');
    if (end > 0 && !rest.slice(0, end).includes('\n')) return { name: rest.slice(1, end), next: i + end + 2 };
    return undefined;
  }
  const m = NAME.exec(rest) ?? SPECIAL_VAR.exec(rest);
  return m ? { name: m[0], next: i + m[0].length + 1 } : undefined;
}

/** Index of the `"` closing a double-quoted string starting at `from`, or -1. */
function closingDouble(text: string, from: number): number {
  for (let j = from; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j;
  }
  return -1;
}

/** The literal text of a plain word (undefined when it has variables or quotes). */
export function plainText(w: Word): string | undefined {
  if (!w.plain) return undefined;
  return w.parts.map((p) => ('text' in p ? p.text : '')).join('');
}

/** Parse GRUB script text into statements. */
export function parseGrub(text: string, problems: ParseProblem[]): Stmt[] {
  const toks = lex(text, problems);
  let at = 0;
  const peek = (): Token | undefined => toks[at];
  const isWord = (t: Token | undefined, ...w: string[]): boolean =>
    t !== undefined && t.k === 'word' && w.includes(plainText(t.word) ?? '\u0000');
  const skipSeps = (): void => {
    while (peek()?.k === 'sep') at++;
  };
  let depth = 0;
  const lineOf = (): number => peek()?.line ?? toks[toks.length - 1]?.line ?? 1;

  /** Words up to the end of the command (a `{` / `}` ends it too, and is not consumed). */
  const words = (): Word[] => {
    const ws: Word[] = [];
    for (let t = peek(); t && t.k === 'word'; t = peek()) {
      ws.push(t.word);
      at++;
    }
    return ws;
  };

  /** A `{ … }` block; the opening brace may follow separators. */
  const block = (what: string): Stmt[] => {
    skipSeps();
    if (peek()?.k !== '{') {
      problems.push({ line: lineOf(), detail: `${what}: "{" expected` });
      return [];
    }
    at++;
    const body = list(['}'], true);
    if (peek()?.k === '}') at++;
    else problems.push({ line: lineOf(), detail: `${what}: missing "}"` });
    return body;
  };

  /** Expect a reserved word; report when missing. */
  const expect = (word: string, what: string): boolean => {
    if (isWord(peek(), word)) {
      at++;
      return true;
    }
    problems.push({ line: lineOf(), detail: `${what}: "${word}" expected` });
    return false;
  };

  function statement(): Stmt | undefined {
    const t = peek();
    if (!t) return undefined;
    const line = t.line;
    if (t.k === '{') {
      // A bare `{ … }` group runs its commands (wrapped as an always-true if).
      const body = block('group');
      return { t: 'if', branches: [{ cond: [], body }], otherwise: [], line };
    }
    if (t.k !== 'word') return undefined;
    const kw = plainText(t.word);
    if (kw === 'if') {
      at++;
      const branches: { cond: Stmt[]; body: Stmt[] }[] = [];
      let otherwise: Stmt[] = [];
      for (;;) {
        const cond = list(['then']);
        expect('then', 'if');
        const body = list(['elif', 'else', 'fi']);
        branches.push({ cond, body });
        if (isWord(peek(), 'elif')) {
          at++;
          continue;
        }
        if (isWord(peek(), 'else')) {
          at++;
          otherwise = list(['fi']);
        }
        expect('fi', 'if');
        break;
      }
      return { t: 'if', branches, otherwise, line };
    }
    if (kw === 'menuentry' || kw === 'submenu') {
      at++;
      const ws = words();
      const body = block(kw);
      return { t: kw === 'menuentry' ? 'entry' : 'submenu', words: ws, body, line };
    }
    if (kw === 'function') {
      at++;
      const name = peek()?.k === 'word' ? (plainText((peek() as { word: Word }).word) ?? '') : '';
      if (peek()?.k === 'word') at++;
      return { t: 'function', name, body: block('function'), line };
    }
    if (kw === 'for') {
      at++;
      const name = peek()?.k === 'word' ? (plainText((peek() as { word: Word }).word) ?? '') : '';
      if (peek()?.k === 'word') at++;
      const items = isWord(peek(), 'in') ? (at++, words()) : [];
      skipSeps();
      expect('do', 'for');
      const body = list(['done']);
      expect('done', 'for');
      return { t: 'for', name, items, body, line };
    }
    if (kw === 'while' || kw === 'until') {
      at++;
      list(['do']);
      expect('do', kw);
      list(['done']);
      expect('done', kw);
      return { t: 'loop', line };
    }
    return { t: 'cmd', words: words(), line };
  }

  /** Statements until one of `stop` starts a command (or `}` when `brace`), or the end. */
  function list(stop: string[], brace = false): Stmt[] {
    const out: Stmt[] = [];
    if (++depth > MAX_NESTING) {
      // Deeper than any real configuration: stop parsing here (the rest of the text is dropped).
      if (at < toks.length)
        problems.push({ line: lineOf(), detail: `blocks nested deeper than ${MAX_NESTING}` });
      at = toks.length;
    }
    try {
      return listBody(stop, brace, out);
    } finally {
      depth--;
    }
  }

  function listBody(stop: string[], brace: boolean, out: Stmt[]): Stmt[] {
    for (;;) {
      skipSeps();
      const t = peek();
      if (!t) return out;
      if (t.k === '}') {
        if (brace || stop.length) return out;
        problems.push({ line: t.line, detail: 'stray "}"' });
        at++;
        continue;
      }
      if (t.k === 'word' && stop.includes(plainText(t.word) ?? '\u0000')) return out;
      const before = at;
      const s = statement();
      if (s) out.push(s);
      if (at === before) at++; // never stall on a token no rule takes
    }
  }

  const top: Stmt[] = [];
  while (at < toks.length) {
    top.push(...list([]));
    // A reserved word out of place (`fi`, `done`, `then` at top level): report and go on after it.
    const t = peek();
    if (t) {
      problems.push({
        line: t.line,
        detail: `unexpected "${t.k === 'word' ? (plainText(t.word) ?? '') : t.k}"`,
      });
      at++;
    }
  }
  return top;
}
