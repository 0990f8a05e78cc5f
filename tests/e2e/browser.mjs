// Debian's Chromium, headless, as the e2e tests and the benchmark launch it. WebGPU works through
// SwiftShader with these flags and without --disable-gpu; leaving out --enable-unsafe-webgpu gives
// a browser with no WebGPU adapter (the CPU fallback path).
import { chromium } from 'playwright-core';

export const BASE_FLAGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
  '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];
export const WEBGPU_FLAGS = [...BASE_FLAGS, '--enable-unsafe-webgpu'];

export const launch = (args) => chromium.launch({ executablePath: '/usr/bin/chromium', args });
