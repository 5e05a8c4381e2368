// Jest transform: a `.lua` file becomes a module whose default export is its source text, as the
// rspack `asset/source` rule bundles it for the apps.
module.exports = {
  process(source) {
    return { code: `module.exports = { __esModule: true, default: ${JSON.stringify(source)} };` };
  },
};
