/** A QR code printed in a terminal (the `qrcode` package's half blocks) read back as a phone camera would. */
import jsQRModule from 'jsqr';

// jsQR is CommonJS whose types declare an ES default export: under Node's ESM the function is that default's default.
const jsQR = (jsQRModule as unknown as { default: (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null })
  .default;

/**
 * Reads the terminal QR code back into pixels: each character is two modules stacked (the renderer's half blocks),
 * dark where the glyph is drawn. The bottom line is drawn in the inverse colour (the quiet zone), so it counts as light.
 */
export function decodeTerminalQr(text: string): string | undefined {
  const rows = text.split('\n').filter((line) => /[▀▄█]/.test(line) || line.includes('\x1b[47m'));
  const modules: boolean[][] = [];
  for (const raw of rows) {
    const quietLine = raw.includes('\x1b[37m');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are exactly what is removed here.
    const chars = [...raw.replace(/\x1b\[\d+m/g, '')];
    const top = chars.map((c) => !quietLine && (c === '▀' || c === '█'));
    const bottom = chars.map((c) => !quietLine && (c === '▄' || c === '█'));
    modules.push(top, bottom);
  }
  const scale = 4;
  const quiet = 4;
  const width = (Math.max(...modules.map((r) => r.length)) + 2 * quiet) * scale;
  const height = (modules.length + 2 * quiet) * scale;
  const pixels = new Uint8ClampedArray(width * height * 4).fill(255);
  modules.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (!dark) return;
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const i = (((y + quiet) * scale + dy) * width + (x + quiet) * scale + dx) * 4;
          pixels.fill(0, i, i + 3);
        }
      }
    });
  });
  return jsQR(pixels, width, height)?.data;
}
