// Node-RED settings for SmartZone's example flow (docs/node-red.md): headless, no editor login,
// credentials kept in plain text next to the flow (they come from the environment anyway).
// Run: SZ_... variables set, then `node-red --settings examples/node-red/settings.js --userDir DIR`
module.exports = {
    uiPort: Number(process.env.SZ_NODE_RED_PORT || 1880),
    uiHost: "127.0.0.1",
    flowFile: process.env.SZ_NODE_RED_FLOWS || "flows.json",
    credentialSecret: false,
    httpAdminRoot: process.env.SZ_NODE_RED_EDITOR ? "/" : false, // the editor only when asked for
    httpNodeRoot: "/",
    logging: { console: { level: "warn", metrics: false, audit: false } },
    telemetry: { enabled: false },
    externalModules: { autoInstall: false },
    diagnostics: { enabled: false },
};
