// Type-checks one README project (run by run.js in a child process, so checks run in parallel):
//   node typecheck.js <project dir> <tsconfig file>
// `skipLibCheck` stays on for third-party declarations, as in a project from `tsc --init`, but the
// declarations of dbcreds packages are checked too: an import of theirs that does not resolve (e.g. `pg`
// without `@types/pg`) would otherwise turn their types into `any` silently.
import { join } from 'node:path';
import ts from 'typescript';

const [dir, tsconfig] = process.argv.slice(2);
const configPath = join(dir, tsconfig);
const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
const parsed = ts.parseJsonConfigFileContent(config, ts.sys, dir, undefined, configPath);
const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, skipLibCheck: false } });
const ours = (f) => !f.includes('/node_modules/') || /\/node_modules\/(@dbcreds\/[^/]+|dbcreds)\//.test(f);
const diagnostics = [
  ...parsed.errors,
  ...program.getOptionsDiagnostics(),
  ...program.getGlobalDiagnostics(),
  ...program
    .getSourceFiles()
    .filter((sf) => ours(sf.fileName))
    .flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]),
];
if (diagnostics.length > 0) {
  process.stderr.write(
    ts.formatDiagnostics(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => dir,
      getNewLine: () => '\n',
    }),
  );
  process.exit(1);
}
