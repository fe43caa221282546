/**
 * Process signals for a running command. Every listener is installed before the command prints the
 * line that says it runs (a supervisor, a launcher or a test may signal as soon as it reads it) and
 * stays for the command's whole life: docs/cli.md, "Signals".
 */

/** What `serve` does on SIGUSR1 and SIGHUP; a command without them leaves Node's defaults. */
export interface SignalActions {
  /** SIGUSR1: write the report now, e.g. to attach it to a ticket (also while starting). */
  readonly report?: () => void;
  /** SIGHUP: rescan the netboot folder; one asked while starting runs once the command is up. */
  readonly rescan?: () => void;
}

/**
 * SIGINT and SIGTERM: one listener each, never swapped. A signal libuv has caught but not yet
 * delivered is dropped when its listener is removed (the signal handle closes), so swapping an early
 * listener for the final one lost a Ctrl-C that fell between the "running" line and the swap: the
 * process kept serving (a CI hang). A signal before `onStop` (the session still starting; with no
 * listener Node would die of it, skipping the orderly stop) is held and stops the command once it is
 * up. A second signal while stopping exits at once (130 / 143), for an operator who will not wait.
 *
 * SIGUSR1 and SIGHUP (when given): without a listener SIGUSR1 starts Node's inspector and SIGHUP
 * ends the process, so they too are installed here, before the first line.
 */
export class CommandSignals {
  private held = false;
  private stop: (() => void) | undefined;
  private stopping = false;
  private up = false;
  private rescanHeld = false;

  constructor(
    private readonly command: string,
    private readonly actions: SignalActions = {},
  ) {
    process.on('SIGINT', this.onStopSignal);
    process.on('SIGTERM', this.onStopSignal);
    if (actions.report) process.on('SIGUSR1', actions.report);
    if (actions.rescan) process.on('SIGHUP', this.onRescanSignal);
  }

  /** Runs `stop` on the first SIGINT / SIGTERM, at once if one already came. */
  onStop(stop: () => void): void {
    this.stop = stop;
    if (this.held) this.fire();
  }

  /** The command is up: a rescan asked while it started runs now (once, however many were asked). */
  running(): void {
    this.up = true;
    if (this.rescanHeld) this.onRescanSignal();
  }

  private readonly onStopSignal = (signal: NodeJS.Signals): void => {
    if (this.stopping) {
      process.stderr.write(
        `pxe-desk ${this.command}: ${signal} again, exiting without waiting for the stop\n`,
      );
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    if (this.stop) this.fire();
    else this.held = true;
  };

  private readonly onRescanSignal = (): void => {
    if (!this.up) {
      this.rescanHeld = true;
      return;
    }
    this.actions.rescan?.();
  };

  private fire(): void {
    this.stopping = true;
    this.stop?.();
  }
}
