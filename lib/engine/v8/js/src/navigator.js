// navigator (HTML §8.9.1, the parts a server has): userAgent is "CosmoCompute/<version>", the
// version being the project's (CMake's project version, which tools/build.mjs substitutes for
// COSMO_VERSION when it bundles the runtime).

const kInternal = {};

export class Navigator {
  constructor(token = undefined) {
    if (token !== kInternal) throw new TypeError('Illegal constructor');
  }

  get userAgent() {
    return `CosmoCompute/${COSMO_VERSION}`;
  }
}

export const navigator = new Navigator(kInternal);
