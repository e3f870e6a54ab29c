// comlink ships types for its Node adapter beside the .mjs file under a name TypeScript does not pair with it.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  export { default } from 'comlink/dist/esm/node-adapter';
}
