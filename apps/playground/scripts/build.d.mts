export function buildPlayground(options?: { outDir?: string; sources?: boolean }): Promise<string>;
