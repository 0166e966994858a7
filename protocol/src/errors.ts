/**
 * The one error base class of Shardline. `code` is stable and machine-readable; test for it,
 * never for `instanceof`, because errors crossing a thread boundary travel as
 * `{ code, message }` and are rebuilt on the other side.
 */
export class ShardlineError extends Error {
  readonly code: string;
  /** True when the component that threw cannot continue (the process or connection must end). */
  readonly fatal: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; fatal?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShardlineError';
    this.code = code;
    this.fatal = options.fatal ?? false;
  }
}

/** WebSocket close codes used by the protocol (RFC 6455 section 7.4.1). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** A frame that cannot be accepted. The connection answers an Error frame and closes. */
export class FrameError extends ShardlineError {
  readonly closeCode: CloseCode;

  constructor(
    code: string,
    message: string,
    closeCode: CloseCode = CloseCode.invalidPayload,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.name = 'FrameError';
    this.closeCode = closeCode;
  }
}
