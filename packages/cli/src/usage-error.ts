/**
 * A command line that cannot mean anything: exit code 2, with the help of the command it was
 * meant for. Errors found once the command runs are LoupeErrors (exit code 1).
 */
export class UsageError extends Error {
  /** The help text of the command the line was for, when known. */
  help: string | undefined;

  constructor(message: string, help?: string) {
    super(message);
    this.name = 'UsageError';
    this.help = help;
  }
}
