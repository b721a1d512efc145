import type { CommandModule } from 'yargs';
import { policiesCommand } from './policies.js';
import { checkCommand } from './check.js';
import { explainCommand } from './explain.js';
import { flowsCommand } from './flows.js';
import { reportCommand } from './report.js';
import { collectCommand } from './collect.js';
import { compileCommand } from './compile.js';
import { reachCommand } from './reach.js';
import { routeCommand } from './route.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- yargs command modules have heterogeneous argument types
export const commands: CommandModule<any, any>[] = [
  policiesCommand,
  checkCommand,
  explainCommand,
  flowsCommand,
  reportCommand,
  collectCommand,
  compileCommand,
  reachCommand,
  routeCommand,
];
