// Types of batchhook/webhook (the same for every export condition).

/** Something headers can be read from: a Fetch `Headers` (or anything with `get`), or a plain
 * object such as Node's `req.headers` (keys matched case-insensitively; a lowercase key wins
 * over other casings of the same name; array values are joined with ", "). */
export type WebhookHeaders =
  | { get(name: string): string | null | undefined }
  | Record<string, string | string[] | undefined>;

/** A raw request body. Strings are verified as their UTF-8 bytes. */
export type WebhookPayload = string | Uint8Array | ArrayBuffer | ArrayBufferView;

export interface WebhookOptions {
  /** `"raw"`: use the secret's UTF-8 bytes (or the Uint8Array) as the key, without base64. */
  format?: "raw";
  /** Seconds the signed timestamp may differ from now, in either direction. Default 300. */
  tolerance?: number;
  /** `false`: always MAC in wasm, never with `node:crypto`/WebCrypto (default `true`). */
  nativeHmac?: boolean;
}

export interface VerifyOptions {
  /** `false`: skip `JSON.parse` and return `undefined`. Default `true`. */
  jsonParse?: boolean;
  /** The current time (defaults to `new Date()`). */
  now?: Date;
}

export interface VerifiedDelivery<T = unknown> {
  /** The parsed payload, as `verify` returns it. */
  payload: T;
  /** The delivery id to dedupe on (`webhook-id`/`svix-id`, `x-github-delivery`); null for Stripe. */
  id: string | null;
  /** The signed unix timestamp in seconds; null for GitHub. */
  timestamp: number | null;
}

/** Codes carried by `WebhookVerificationError` and `WebhookSecretError`. */
export type WebhookErrorCode =
  | "missing_header"
  | "malformed_header"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "no_supported_signature"
  | "no_matching_signature"
  | "invalid_secret"
  | "no_secrets";

/** Thrown by `verify` when a webhook is refused. */
export class WebhookVerificationError extends Error {
  readonly name: "WebhookVerificationError";
  readonly code: WebhookErrorCode;
  constructor(message: string, code: WebhookErrorCode);
}

/** Thrown by a constructor (or `sign`) when a secret is unusable; never contains the secret. */
export class WebhookSecretError extends Error {
  readonly name: "WebhookSecretError";
  readonly code: WebhookErrorCode;
  constructor(message: string, code: WebhookErrorCode);
}

declare class SchemeWebhook {
  /** Verifies the raw `payload` and returns it parsed as JSON (`undefined` when empty). */
  verify<T = unknown>(payload: WebhookPayload, headers: WebhookHeaders, options?: VerifyOptions): T;
  /** `verify` using WebCrypto for bodies of 512 bytes or more (faster in Workers/browsers). */
  verifyAsync<T = unknown>(payload: WebhookPayload, headers: WebhookHeaders, options?: VerifyOptions): Promise<T>;
  /** `verify` plus the delivery id and signed timestamp. */
  verifyDelivery<T = unknown>(payload: WebhookPayload, headers: WebhookHeaders, options?: VerifyOptions): VerifiedDelivery<T>;
  /** The signature header value for `payload` sent as `msgId` at `timestamp` (a Date or Unix ms). */
  sign(msgId: string, timestamp: Date | number, payload: WebhookPayload): string;
}

/**
 * Standard Webhooks (and Svix, OpenAI): drop-in for npm `standardwebhooks`' `Webhook`.
 * Secret: base64 with or without `whsec_` (or raw with `{ format: "raw" }`); at least 24 bytes.
 * An array of secrets accepts signatures made with any of them.
 */
export class Webhook extends SchemeWebhook {
  static prefix: "whsec_";
  constructor(secret: string | Uint8Array | Array<string | Uint8Array>, options?: WebhookOptions);
}

/** Stripe's `Stripe-Signature` (`t=…,v1=…`); the `whsec_…` secret is used as text. */
export class StripeWebhook extends SchemeWebhook {
  constructor(secret: string | Uint8Array | Array<string | Uint8Array>, options?: WebhookOptions);
}

/** GitHub's `X-Hub-Signature-256` (`sha256=…`); no timestamp is signed. */
export class GitHubWebhook extends SchemeWebhook {
  constructor(secret: string | Uint8Array | Array<string | Uint8Array>, options?: WebhookOptions);
}
