import { describe, expect, it } from 'vitest';
import { desktopAvailability } from '../../app/cli/commands/start.js';

const present = (): string => process.execPath; // any file that exists stands in for the binary
const missing = (): string => {
  throw new Error('Electron failed to install correctly');
};

describe('kestrel start: desktop window or browser fallback', () => {
  it('opens the desktop app where Electron is installed and a display exists', () => {
    expect(desktopAvailability({ DISPLAY: ':0' }, 'linux', present)).toEqual({ available: true, electron: process.execPath });
    expect(desktopAvailability({}, 'win32', present).available).toBe(true);
  });

  it("falls back, saying why, when Electron's binary was never downloaded", () => {
    const d = desktopAvailability({ DISPLAY: ':0' }, 'linux', missing);
    expect(d).toMatchObject({ available: false });
    expect(!d.available && d.reason).toMatch(/binary is not installed/);
    expect(desktopAvailability({ DISPLAY: ':0' }, 'linux', () => '/nonexistent/electron').available).toBe(false);
  });

  it('falls back on Linux without a display', () => {
    const d = desktopAvailability({}, 'linux', present);
    expect(!d.available && d.reason).toMatch(/no display/);
    expect(desktopAvailability({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux', present).available).toBe(true);
  });

  it('falls back when asked to', () => {
    expect(desktopAvailability({ DISPLAY: ':0', KESTREL_NO_DESKTOP: '1' }, 'linux', present)).toMatchObject({ available: false });
  });
});
