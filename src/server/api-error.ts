// Errors the HTTP API answers with, in OpenAI's shape: {"error": {message, type, param, code}} and the
// status the official clients map to their error classes (400 BadRequestError, 401 Authentication,
// 404 NotFound, 413, 415, 429 RateLimit, 503 InternalServer…). Handlers throw these; server.ts writes them.

export interface ErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Seconds for a Retry-After header (overload). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: ErrorBody } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 naming the offending field, e.g. invalid('temperature', 'must be a number in [0, 2]'). */
export function invalid(param: string, problem: string, code = 'invalid_value'): ApiError {
  return new ApiError(400, `${param}: ${problem}`, 'invalid_request_error', param, code);
}

export function missing(param: string): ApiError {
  return new ApiError(400, `${param}: this field is required`, 'invalid_request_error', param, 'missing_required_parameter');
}

export function unsupported(param: string, problem: string): ApiError {
  return new ApiError(400, `${param}: ${problem}`, 'invalid_request_error', param, 'unsupported_parameter');
}

export function overloaded(message: string, retryAfter: number): ApiError {
  return new ApiError(503, message, 'server_error', null, 'server_overloaded', retryAfter);
}
