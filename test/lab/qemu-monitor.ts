/**
 * The QEMU human monitor on a unix socket (`-monitor unix:<path>,server,nowait`): how the lab reads a guest
 * that writes nothing to the serial port, e.g. memtest86+ on BIOS drawing into the VGA text buffer.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';

export function monitorArgs(socket: string): string[] {
  return ['-monitor', `unix:${socket},server,nowait`];
}

/** Sends one command and resolves with what the monitor printed up to its next `(qemu)` prompt. */
export function monitorCommand(socket: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let out = '';
    let sent = false;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`monitor ${socket}: no prompt after ${command}`));
    }, timeoutMs);
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (!out.includes('(qemu)')) return;
      if (!sent) {
        sent = true;
        out = '';
        s.write(`${command}\n`);
        return;
      }
      clearTimeout(timer);
      s.end();
      resolve(out);
    });
  });
}

/**
 * The 80x25 VGA text screen (0xb8000, character + attribute bytes) as 25 lines, or undefined when the
 * monitor is not up yet. The file name is quoted: unquoted, the monitor reads `/` as a division.
 */
export async function vgaText(socket: string, dumpFile: string): Promise<string | undefined> {
  if (!existsSync(socket)) return undefined;
  rmSync(dumpFile, { force: true });
  try {
    await monitorCommand(socket, `pmemsave 0xb8000 4000 "${dumpFile}"`);
  } catch {
    return undefined;
  }
  if (!existsSync(dumpFile)) return undefined;
  const raw = readFileSync(dumpFile);
  let text = '';
  for (let i = 0; i < raw.length; i += 2) text += String.fromCharCode(raw[i] ?? 32);
  const lines: string[] = [];
  for (let row = 0; row < 25; row++) lines.push(text.slice(row * 80, row * 80 + 80).trimEnd());
  return lines.join('\n');
}

export interface Screen {
  readonly width: number;
  readonly height: number;
  /** RGB, 3 bytes per pixel, row by row. */
  readonly rgb: Buffer;
}

/**
 * The guest's screen as pixels (`screendump`, binary PPM): a UEFI program that draws on the GOP framebuffer
 * and writes nothing to serial (memtest86+'s EFI build without `console=`) is seen here.
 */
export async function screenPixels(socket: string, dumpFile: string): Promise<Screen | undefined> {
  if (!existsSync(socket)) return undefined;
  rmSync(dumpFile, { force: true });
  try {
    await monitorCommand(socket, `screendump "${dumpFile}"`);
  } catch {
    return undefined;
  }
  if (!existsSync(dumpFile)) return undefined;
  const ppm = readFileSync(dumpFile);
  // P6\n<w> <h>\n<max>\n<data>
  const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(ppm.toString('latin1', 0, 40));
  if (!header) return undefined;
  const width = Number(header[1]);
  const height = Number(header[2]);
  const rgb = ppm.subarray(header[0].length);
  return rgb.length >= width * height * 3 ? { width, height, rgb } : undefined;
}

/** Share of the pixels in rows [y0, y1) for which `test(r, g, b)` holds. */
export function pixelShare(
  s: Screen,
  test: (r: number, g: number, b: number) => boolean,
  y0 = 0,
  y1 = s.height,
): number {
  let hits = 0;
  let all = 0;
  for (let y = Math.max(0, y0); y < Math.min(s.height, y1); y++) {
    for (let x = 0; x < s.width; x++) {
      const i = (y * s.width + x) * 3;
      all++;
      if (test(s.rgb[i] ?? 0, s.rgb[i + 1] ?? 0, s.rgb[i + 2] ?? 0)) hits++;
    }
  }
  return all === 0 ? 0 : hits / all;
}
