import t from 'tap';
import { luma, psnr, ssim, type Plane } from './image-metrics.js';

const plane = (width: number, height: number, f: (x: number, y: number) => number): Plane => {
  const data = new Float64Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return { data, width, height };
};

t.test('PSNR is 10 log10(255^2 / MSE)', async (t) => {
  const a = plane(20, 20, (x, y) => (x * 7 + y * 3) % 200);
  const b = plane(20, 20, (x, y) => a.data[y * 20 + x]! + ((x + y) % 2 === 0 ? 5 : -5));
  // Every pixel off by 5: MSE 25.
  t.ok(Math.abs(psnr(a, b) - 10 * Math.log10((255 * 255) / 25)) < 1e-9);
  t.equal(psnr(a, a), Infinity);
});

t.test('SSIM: 1 for identical images, the luminance term alone for two flat images, lower for a worse copy', async (t) => {
  const a = plane(32, 24, (x, y) => 128 + 60 * Math.sin(x / 3) * Math.cos(y / 4));
  t.ok(Math.abs(ssim(a, a) - 1) < 1e-12);
  // Flat images have no variance: SSIM is (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1) exactly.
  const c1 = (0.01 * 255) ** 2;
  const want = (2 * 100 * 140 + c1) / (100 * 100 + 140 * 140 + c1);
  t.ok(Math.abs(ssim(plane(16, 16, () => 100), plane(16, 16, () => 140)) - want) < 1e-12);
  // Noise of growing amplitude lowers SSIM step by step.
  let seed = 3;
  const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5);
  const noisy = (amp: number) => plane(32, 24, (x, y) => a.data[y * 32 + x]! + amp * noise());
  const scores = [5, 20, 60].map((amp) => ssim(a, noisy(amp)));
  t.ok(scores[0]! < 1 && scores[0]! > scores[1]! && scores[1]! > scores[2]!, `SSIM falls with noise: ${scores.map((s) => s.toFixed(3)).join(' > ')}`);
  t.throws(() => ssim(plane(8, 8, () => 0), plane(8, 8, () => 0)), /at least 11x11/);
});

t.test('luma is BT.601 Y (16..235), the border cropped', async (t) => {
  const rgb = { width: 3, height: 3, data: new Uint8Array(27).fill(255) };
  rgb.data.set([0, 0, 0], 4 * 3);
  const y = luma(rgb, 1);
  t.same([y.width, y.height], [1, 1]);
  t.ok(Math.abs(y.data[0]! - 16) < 1e-9, 'black is 16');
  t.ok(Math.abs(luma(rgb).data[0]! - 235) < 1e-9, 'white is 235');
});
