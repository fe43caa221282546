/** Saves text as a file through the browser's download (the report, the log). */
export function download(name: string, text: string, type: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** A file-name-safe timestamp (UTC, to the second) for saved reports. */
export const fileStamp = (now = Date.now()): string =>
  new Date(now).toISOString().replace(/[:.]/g, '-').slice(0, 19);
