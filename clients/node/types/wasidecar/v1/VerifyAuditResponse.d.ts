import type { Long } from '@grpc/proto-loader';
export interface VerifyAuditResponse {
    'ok'?: (boolean);
    'entriesChecked'?: (number | string | Long);
    /**
     * The first entry that does not verify (0 when ok).
     */
    'firstBadSeq'?: (number | string | Long);
    /**
     * "modified", "deleted", "inserted", "reordered" and what was found.
     */
    'problem'?: (string);
    'headHash'?: (string);
}
export interface VerifyAuditResponse__Output {
    'ok': (boolean);
    'entriesChecked': (number);
    /**
     * The first entry that does not verify (0 when ok).
     */
    'firstBadSeq': (number);
    /**
     * "modified", "deleted", "inserted", "reordered" and what was found.
     */
    'problem': (string);
    'headHash': (string);
}
