/** The package version, shown by `secrets --version` and in the MCP `serverInfo`. */
export const VERSION = "0.1.0"
