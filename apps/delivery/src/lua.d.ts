/** A `.lua` file imported as its source text (rspack `asset/source`; Jest: test/support/lua-transform.cjs). */
declare module '*.lua' {
  const source: string;
  export default source;
}
