// Debian's Chromium, headless, as the e2e tests and the benchmark launch it. WebGPU works through
// SwiftShader with these flags and without --disable-gpu; leaving out --enable-unsafe-webgpu gives
// a browser with no WebGPU adapter (the CPU fallback path).
import { chromium } from 'playwright-core';

export const BASE_FLAGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];
export const WEBGPU_FLAGS = [...BASE_FLAGS, '--enable-unsafe-webgpu'];

export const launch = (args) => chromium.launch({ executablePath: '/usr/bin/chromium', args });

/** A browser with a profile on disk, so that it has a disk cache like a real one (the default
 *  contexts are in-memory and keep no entry as large as the wasm module). */
export const launchWithProfile = (args, dir) => chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', args });
