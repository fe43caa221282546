/**
 * CommandSignals (app/cli/signals.ts): the rules the serve race fixes rely on — listeners exist from
 * construction (before the first output line), a stop signal before onStop is held and fires once it
 * is given, the listener is never swapped, a second stop signal exits 130 / 143, and a SIGHUP during
 * start runs its rescan once the command is up. Signals are delivered with process.emit, which calls
 * the same listeners a real signal does.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandSignals } from '../../app/cli/signals.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGUSR1', 'SIGHUP'] as const;
type Listener = (...args: unknown[]) => void;
let before: Map<string, Listener[]>;

const emit = (signal: NodeJS.Signals): void => {
  process.emit(signal, signal);
};

beforeEach(() => {
  before = new Map(SIGNALS.map((s) => [s, process.listeners(s) as Listener[]]));
});

afterEach(() => {
  // Remove only the listeners this test's CommandSignals added.
  for (const s of SIGNALS)
    for (const l of process.listeners(s) as Listener[]) if (!before.get(s)!.includes(l)) process.off(s, l);
  vi.restoreAllMocks();
});

const added = (s: (typeof SIGNALS)[number]): number => process.listenerCount(s) - before.get(s)!.length;

describe('CommandSignals', () => {
  it('installs SIGINT and SIGTERM at construction; SIGUSR1 and SIGHUP only when asked', () => {
    new CommandSignals('serve --ui');
    expect([added('SIGINT'), added('SIGTERM'), added('SIGUSR1'), added('SIGHUP')]).toEqual([1, 1, 0, 0]);
    new CommandSignals('serve', { report: () => {}, rescan: () => {} });
    expect([added('SIGINT'), added('SIGTERM'), added('SIGUSR1'), added('SIGHUP')]).toEqual([2, 2, 1, 1]);
  });

  it('holds a stop signal that comes before onStop and stops once it is given', () => {
    const signals = new CommandSignals('serve');
    emit('SIGTERM');
    const stop = vi.fn();
    signals.onStop(stop);
    expect(stop).toHaveBeenCalledTimes(1);
  });

  it('stops on a signal after onStop without swapping its listener', () => {
    const signals = new CommandSignals('serve');
    const listeners = process.listeners('SIGINT');
    const stop = vi.fn();
    signals.onStop(stop);
    expect(stop).not.toHaveBeenCalled();
    expect(process.listeners('SIGINT')).toEqual(listeners);
    emit('SIGINT');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(process.listeners('SIGINT')).toEqual(listeners);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('a second %s while stopping exits %d at once', (signal, code) => {
    // process.exit never returns: the mock throws so nothing after it runs, as in a real exit.
    const exit = vi.spyOn(process, 'exit').mockImplementation((c) => {
      throw new Error(`exit ${String(c)}`);
    });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const signals = new CommandSignals('serve');
    const stop = vi.fn();
    signals.onStop(stop);
    emit(signal);
    expect(exit).not.toHaveBeenCalled();
    expect(() => emit(signal)).toThrow(`exit ${code}`);
    expect(String(stderr.mock.calls.at(-1)?.[0])).toContain(`pxe-desk serve: ${signal} again`);
    expect(stop).toHaveBeenCalledTimes(1);
  });

  it('SIGUSR1 reports at once, also while starting', () => {
    const report = vi.fn();
    new CommandSignals('serve', { report });
    emit('SIGUSR1');
    expect(report).toHaveBeenCalledTimes(1);
  });

  it('SIGHUP while starting rescans once the command is up (once for several), then on each', () => {
    const rescan = vi.fn();
    const signals = new CommandSignals('serve', { rescan });
    emit('SIGHUP');
    emit('SIGHUP');
    expect(rescan).not.toHaveBeenCalled();
    signals.running();
    expect(rescan).toHaveBeenCalledTimes(1);
    emit('SIGHUP');
    expect(rescan).toHaveBeenCalledTimes(2);
  });

  it('running() without a held SIGHUP rescans nothing', () => {
    const rescan = vi.fn();
    new CommandSignals('serve', { rescan }).running();
    expect(rescan).not.toHaveBeenCalled();
  });
});
