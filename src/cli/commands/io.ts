/** Where a command writes; tests pass their own streams to read the output back. */
export interface CommandIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export const processIO: CommandIO = { stdout: process.stdout, stderr: process.stderr };
