// What the Pulumi CLI runs for this pack: its policy runner `require()`s package.json's `main`
// (CommonJS, with ts-node registered for CommonJS TypeScript) and awaits what it exports. The pack
// is ESM TypeScript, so this file registers tsx's ESM loader and imports pack.ts, which starts the
// policy server. tsx/esm/api is imported, not required: its CommonJS build resolves its loader
// from the wrong directory.
module.exports = (async () => {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./pack.ts");
})();
