import type { CommandModule } from 'yargs';
import { runCommand, UsageError } from '../common.js';

// Placeholder until the compile command lands; it refuses clearly rather than pretending.
export const compileCommand: CommandModule = {
  command: 'compile',
  describe: '(compile: not available in this build yet)',
  handler: () => runCommand(async () => {
    throw new UsageError('the compile command is not available in this build yet');
  }),
};
