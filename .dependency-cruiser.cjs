// Layer rules of DESIGN.md §2: imports point down only.
// kernel and core import nothing of the project; protocol imports kernel and core;
// runtimes import core; engine and remote import kernel, core and protocol (never each other);
// serving imports kernel, core and protocol; cluster imports kernel and core;
// only the entry (src/index.ts), the CLI and the testkit wire concrete pieces together.
const layer = (name, allowed) => ({
  name: `${name}-imports-only-${allowed.join("-") || "itself"}`,
  severity: "error",
  from: { path: `^src/${name}/` },
  to: {
    path: "^src/",
    pathNot: [`^src/${name}/`, ...allowed.map((a) => `^src/${a}/`)],
  },
});

module.exports = {
  forbidden: [
    layer("actor", []),
    layer("core", []),
    layer("protocol", ["actor", "core"]),
    layer("runtimes", ["core"]),
    layer("engine", ["actor", "core", "protocol"]),
    layer("remote", ["actor", "core", "protocol"]),
    layer("serving", ["actor", "core", "protocol"]),
    layer("cluster", ["actor", "core", "protocol"]),
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    exclude: { path: "\\.test\\.ts$" },
  },
};
