// The lifecycle's Lua scripts live in `.lua` files (each opens with its KEYS/ARGV/returns comment)
// and are bundled as strings.
export default (options) => ({
  ...options,
  module: { ...options.module, rules: [...(options.module?.rules ?? []), { test: /\.lua$/, type: 'asset/source' }] },
});
