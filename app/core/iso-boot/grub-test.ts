/**
 * GRUB's `test` / `[ … ]` command (GRUB manual, "test"): string comparisons `= == != < <= > >=`, integers
 * `-eq -ne -lt -le -gt -ge`, `-pgt -plt` (integers after a common non-digit prefix), `-n -z`, a lone string
 * (true when non-empty), files `-e -f -d -s` (asked of the image: the three existence tests are one),
 * `-nt -ot` (false: the image has no useful times), `!`, `( … )`, `-a` and `-o`.
 * Never throws: a malformed expression is false, as GRUB reports an error and the `if` takes its else.
 */

const STRING_OPS = new Set(['=', '==', '!=', '<', '<=', '>', '>=']);
const INT_OPS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge', '-pgt', '-plt']);
const FILE_OPS = new Set(['-e', '-f', '-d', '-s']);

function compareInts(op: string, a: number, b: number): boolean {
  switch (op) {
    case '-eq':
      return a === b;
    case '-ne':
      return a !== b;
    case '-lt':
    case '-plt':
      return a < b;
    case '-le':
      return a <= b;
    case '-gt':
    case '-pgt':
      return a > b;
    default:
      return a >= b;
  }
}

function binary(op: string, a: string, b: string): boolean {
  switch (op) {
    case '=':
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
  if (op === '-pgt' || op === '-plt') {
    // Skip a common prefix up to the first digit of each (GRUB: "vmlinuz-5" -pgt "vmlinuz-4").
    const num = (s: string): number => Number.parseInt(s.replace(/^[^0-9]*/, ''), 10);
    return compareInts(op, num(a), num(b));
  }
  return compareInts(op, Number.parseInt(a, 10), Number.parseInt(b, 10));
}

/** Evaluate `test` arguments (already expanded, without the closing `]`). */
export async function grubTest(
  args: readonly string[],
  exists: (path: string) => Promise<boolean>,
): Promise<boolean> {
  let at = 0;
  let bad = false;
  let budget = 256;

  async function primary(): Promise<boolean> {
    if (--budget < 0) {
      bad = true;
      return false;
    }
    const a = args[at];
    if (a === undefined) {
      bad = true;
      return false;
    }
    if (a === '!') {
      at++;
      return !(await primary());
    }
    if (a === '(') {
      at++;
      const v = await or();
      if (args[at] === ')') at++;
      else bad = true;
      return v;
    }
    const op = args[at + 1];
    if (op !== undefined && (STRING_OPS.has(op) || INT_OPS.has(op) || op === '-nt' || op === '-ot')) {
      const b = args[at + 2];
      if (b === undefined) {
        bad = true;
        return false;
      }
      at += 3;
      return op === '-nt' || op === '-ot' ? false : binary(op, a, b);
    }
    if ((a === '-n' || a === '-z') && args[at + 1] !== undefined) {
      const s = args[at + 1] as string;
      at += 2;
      return a === '-n' ? s !== '' : s === '';
    }
    if (FILE_OPS.has(a) && args[at + 1] !== undefined) {
      const p = args[at + 1] as string;
      at += 2;
      return p !== '' && exists(p);
    }
    at++;
    return a !== '';
  }

  async function and(): Promise<boolean> {
    let v = await primary();
    while (args[at] === '-a') {
      at++;
      const w = await primary();
      v = v && w;
    }
    return v;
  }

  async function or(): Promise<boolean> {
    let v = await and();
    while (args[at] === '-o') {
      at++;
      const w = await and();
      v = v || w;
    }
    return v;
  }

  if (args.length === 0) return false;
  const v = await or();
  return !bad && at === args.length && v;
}
