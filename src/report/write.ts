import { renameSync, rmSync, writeFileSync } from 'node:fs';

/** Writes beside the target and renames, so a failed write never leaves half a report over an earlier one. */
export function writeWhole(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
