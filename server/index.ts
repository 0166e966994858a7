/** Shardline server: configuration and the composition root. */
export { configHelp, DEFAULT_CONFIG, loadConfig, type ServerConfig } from './src/config.js';
export { createLogger, type Logger } from './src/logger.js';
export { startServer, type RunningServer } from './src/server.js';
