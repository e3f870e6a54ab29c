export function servePlayground(
  dir: string,
  port?: number,
): Promise<{ origin: string; close(): Promise<void> }>;
