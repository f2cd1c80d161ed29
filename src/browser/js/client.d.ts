// Types of the `batchhook` npm entry. The Webhook verifier is re-exported from `batchhook/webhook`.

export * from '../webhook/index.js';

/** A lifecycle status as the gateway spells it; unknown future values pass through as strings. */
export type BatchStatus =
  | 'validating'
  | 'pending'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'failed'
  | 'cancelling'
  | 'cancelled'
  | 'expired'
  | (string & {});

/** A status filter: canonical names and the aliases the list endpoint accepts. */
export type StatusFilter =
  | 'pending'
  | 'queued'
  | 'in_progress'
  | 'running'
  | 'processing'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'canceled'
  | 'expired'
  | (string & {});

export interface RequestCounts {
  total?: number;
  completed?: number;
  failed?: number;
}

/** The batch object (OpenAI-compatible, plus the gateway's fields and batchhook's block). */
export interface Batch {
  id: string;
  object?: string;
  endpoint?: string;
  status?: BatchStatus;
  lifecycle_status?: BatchStatus;
  input_file_id?: string;
  output_file_id?: string | null;
  error_file_id?: string | null;
  completion_window?: string;
  progress?: number | null;
  request_counts?: RequestCounts;
  metadata?: Record<string, string> | null;
  created_at?: number;
  cancel_url?: string | null;
  polling_url?: string | null;
  provider?: string | null;
  request_id?: string | null;
  /** Present when talking to the batchhook worker: timeline, deliveries, signals, failure. */
  batchhook?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface BatchList {
  object: 'list';
  data: Batch[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface FileObject {
  id: string;
  object?: string;
  bytes?: number;
  filename?: string;
  purpose?: string;
  [field: string]: unknown;
}

/** One problem in one row of a JSONL input (the core's `{ row, error }`). */
export interface RowError {
  /** 1-based line number in the file. */
  row: number;
  /** What is wrong with the row and how to fix it. */
  error: string;
}

export interface ValidationReport {
  /** True when there are no row errors and no file error. */
  valid: boolean;
  /** Number of non-blank rows seen, including invalid ones. */
  rows: number;
  /** Bytes seen. */
  bytes: number;
  /** Rows with at least one problem. */
  invalid_rows: number;
  /** Total problems found; may exceed `errors.length`. */
  error_count: number;
  /** The first problems, in file order (at most 100). */
  errors: RowError[];
  /** A problem with the file as a whole (empty, too many rows, too large), or null. */
  file_error: string | null;
}

export interface ValidateJsonlOptions {
  /** The endpoint every row's `url` must equal. Defaults to `DEFAULT_ENDPOINT`. */
  endpoint?: string;
}

export interface UploadFileOptions {
  /** The uploaded file's name. Defaults to the File's name, else "batch.jsonl". */
  filename?: string;
  /** The endpoint the rows are validated against before uploading. Defaults to `DEFAULT_ENDPOINT`. */
  endpoint?: string;
}

/** The core's normalised view of a job, as `jobView` returns it. */
export interface JobView {
  id: string | null;
  /** Which service shape the view was built from. */
  source: 'ai_stats_batch' | 'doc_tagging' | 'fact_check';
  status: BatchStatus | null;
  /** The source's own status text. */
  raw_status: string | null;
  counts: { total: number | null; processed: number | null; succeeded: number | null; failed: number | null };
  /** Progress as a fraction 0..1. */
  progress: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
  /** Cost in integer nano-units (1 cent = 10,000,000 nanos). */
  cost: { nanos: number; currency: string | null } | null;
  error_message: string | null;
  row_errors: RowError[];
}

/** One classified failure, tagged by `kind` (e.g. "upstream_execution"). */
export interface ClassifiedFailure {
  kind: string;
  [field: string]: unknown;
}

export interface ResultRow {
  custom_id?: string;
  [field: string]: unknown;
}

export interface BatchClientOptions {
  /** The API base URL, e.g. "https://batches.example.com". Defaults to the page's origin. */
  baseUrl?: string;
  /** Bearer token for the API. */
  token: string;
  /** Called as `fetch(request)` instead of the global fetch. */
  fetch?: (request: Request) => Promise<Response>;
  /** First delay between polls (wait, watch fallback), in ms. Default 1000. */
  pollMinMs?: number;
  /** Longest delay between polls, in ms. Default 30000. */
  pollMaxMs?: number;
}

export interface CreateBatchOptions {
  inputFileId: string;
  endpoint: string;
  /** Defaults to "24h". */
  completionWindow?: string;
  metadata?: Record<string, string>;
  /** Sent as `Idempotency-Key`: repeating a call with the same value returns the same batch. */
  clientJobId?: string;
}

export interface ListOptions {
  status?: StatusFilter | StatusFilter[];
  /** 1..=100; the server defaults to 20. */
  limit?: number;
  after?: string;
}

export interface WaitOptions {
  signal?: AbortSignal;
  onProgress?: (batch: Batch) => void;
  timeoutMs?: number;
}

export interface WatchOptions {
  onError?: (error: BatchhookError) => void;
  /** Told which transport carries updates: "websocket", "reconnecting" or "polling". */
  onTransport?: (transport: 'websocket' | 'reconnecting' | 'polling') => void;
}

export class BatchhookError extends Error {
  constructor(
    message: string,
    options?: { code?: string; status?: number; rows?: RowError[]; retryable?: boolean; retryAfterMs?: number; cause?: unknown },
  );
  readonly name: 'BatchhookError';
  /** snake_case code: the server's, or a local one (invalid_jsonl, invalid_argument, network_error, timeout). */
  readonly code: string;
  /** HTTP status of the server's answer; 0 when no answer was involved. */
  readonly status: number;
  /** Whether repeating the request may succeed (network errors, 429, 5xx). */
  readonly retryable: boolean;
  /** The server's Retry-After, in milliseconds, when it sent one. */
  readonly retryAfterMs?: number;
  /** The row errors, for code "invalid_jsonl". */
  readonly rows?: RowError[];
}

export class BatchClient {
  constructor(options: BatchClientOptions);
  readonly baseUrl: string;
  uploadFile(input: Blob | string | Uint8Array | ArrayBuffer, options?: UploadFileOptions): Promise<FileObject>;
  createBatch(options: CreateBatchOptions): Promise<Batch>;
  getBatch(id: string): Promise<Batch>;
  listPage(options?: ListOptions): Promise<BatchList>;
  listBatches(options?: ListOptions): AsyncGenerator<BatchList, void, undefined>;
  cancelBatch(id: string): Promise<Batch>;
  pauseBatch(id: string): Promise<Batch>;
  resumeBatch(id: string): Promise<Batch>;
  events(id: string, options?: { since?: number }): Promise<unknown>;
  waitForBatch(id: string, options?: WaitOptions): Promise<Batch>;
  watchBatch(id: string, onChange: (batch: Batch) => void, options?: WatchOptions): () => void;
  results(id: string, options?: { limit?: number }): AsyncGenerator<ResultRow, void, undefined>;
  validateJsonl(text: string, options?: ValidateJsonlOptions): ValidationReport;
}

/** The endpoint rows are checked against when none is given: "/v1/chat/completions". */
export const DEFAULT_ENDPOINT: string;
export function validateJsonl(text: string, options?: ValidateJsonlOptions): ValidationReport;
export function isTerminalStatus(status: string): boolean;
export function lifecycleStatus(batch: Batch): BatchStatus;
export function jobView(batch: Batch): JobView;
export function classifyFailures(batch: Batch): ClassifiedFailure[];
