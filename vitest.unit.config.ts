import { defineConfig } from "vitest/config";

/**
 * The fast lane (`npm run test:unit`, about a minute): the pure tests, which need no engine, no QEMU and no
 * build: file formats (with their independent readers), the adk command builders and host check, the resource
 * declarations, the code structure, the README and the bench harness. `npm test` runs everything.
 */
export default defineConfig({
  test: {
    include: [
      "test/formats/**/*.test.ts",
      "test/toolchains/adk-*.test.ts",
      "test/providers/declarations.test.ts",
      "test/structure.test.ts",
      "test/stack/**/*.test.ts",
      "test/runtime/**/*.test.ts",
      "test/docs/**/*.test.ts",
      "test/bench/**/*.test.ts",
    ],
    testTimeout: 120_000,
    pool: "forks",
  },
});
