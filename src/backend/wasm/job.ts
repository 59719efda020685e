// job.c's job_t, in int32 words: the layout pool.ts writes and every thread (host.ts WORKER_LOOP) reads.
export const GEN = 0;
export const COUNTER = 1;
export const OP = 2;
export const TOTAL = 3;
export const DONE = 4;
export const CHUNK = 5;
export const ARGS = 8;
export const FARGS = 24;
